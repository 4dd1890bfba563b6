package loadgen

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"time"
)

// Seed modes: how the catalogue is made before the load.
const (
	SeedAPI    = "api"    // through the public API, as the admin and sellers
	SeedDirect = "direct" // Config.DirectSeed (ProductSeeder: the product service's product.seed), then discovered through the API
	SeedNone   = "none"   // use the catalogue that is there (discovered through the API)
)

// ChargeCounter returns, for each order id, the number of successful
// charges the payment side recorded. The load generator uses it when the
// order API does not expose payment attempts.
type ChargeCounter func(ctx context.Context, orderIDs []string) (map[string]int, error)

// Config configures a load run. Register flags with RegisterFlags (which
// sets the defaults) and check with Validate.
type Config struct {
	// GatewayAddr is the gateway's host:port (an empty host means
	// 127.0.0.1); the API is under /api/v1.
	GatewayAddr string
	// AdminEmail and AdminPassword sign in the admin that seeds the
	// catalogue and reads inventories for the consistency check.
	AdminEmail, AdminPassword string

	Seed            string
	Products        int
	RootCategories  int
	SubCategories   int
	Sellers         int
	Users           int
	StockMin        int
	StockMax        int
	SeedConcurrency int
	// DirectSeed makes n products without the API (SeedDirect); set in code.
	DirectSeed func(ctx context.Context, n int) error `json:"-"`

	// Rate > 0 runs open-loop at Rate actions per second; otherwise VUs
	// virtual users run closed-loop with Think between actions.
	Rate        float64
	VUs         int
	Think       time.Duration
	Duration    time.Duration
	MaxInFlight int
	Mix         string
	// DeclineRate is the share of checkouts paid with the declined test card.
	DeclineRate float64
	Timeout     time.Duration
	// SettleTimeout bounds the wait for placed orders to reach a final
	// status after the load.
	SettleTimeout time.Duration
	// Check runs the consistency check after the run.
	Check bool
	// Charges counts successful charges when the API does not say; set in
	// code (the bench and tests read the order database).
	Charges ChargeCounter `json:"-"`
	// Seed of the random choices (0: from the clock).
	RandSeed uint64
}

// Test cards of the built-in payment provider.
const (
	CardOK       = "4242424242424242"
	CardDeclined = "4000000000000002"
)

// RegisterFlags registers the load generator's flags with their defaults.
// The admin flags share their names (and OC_ environment variables) with
// the user service's bootstrap admin, so one environment serves both.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.GatewayAddr, "gateway.addr", ":8080", "host:port of the gateway to load (empty host: 127.0.0.1)")
	fs.StringVar(&c.AdminEmail, "user.bootstrap-admin-email", "", "email of an admin account (seeds the catalogue, reads inventories)")
	fs.StringVar(&c.AdminPassword, "user.bootstrap-admin-password", "", "password of that admin account")
	fs.StringVar(&c.Seed, "seed", SeedAPI, "catalogue seeding: api (public API), direct (the product service makes them in bulk: product.seed over -amqp.url), none (use what is there)")
	fs.IntVar(&c.Products, "products", 10_000, "products to create")
	fs.IntVar(&c.RootCategories, "categories", 8, "root categories to create (each with -subcategories children)")
	fs.IntVar(&c.SubCategories, "subcategories", 4, "children per root category; products go to the children")
	fs.IntVar(&c.Sellers, "sellers", 10, "seller accounts that own the products")
	fs.IntVar(&c.Users, "users", 100, "customer accounts that fill carts and check out")
	fs.IntVar(&c.StockMin, "stock.min", 20, "smallest initial stock of a product")
	fs.IntVar(&c.StockMax, "stock.max", 500, "largest initial stock of a product")
	fs.IntVar(&c.SeedConcurrency, "seed.concurrency", 16, "requests in flight while seeding")
	fs.Float64Var(&c.Rate, "rate", 0, "open loop: actions per second on a fixed schedule (0: closed loop with -vus)")
	fs.IntVar(&c.VUs, "vus", 50, "closed loop: virtual users, each starting its next action when the last ended")
	fs.DurationVar(&c.Think, "think", 0, "closed loop: pause between a virtual user's actions")
	fs.DurationVar(&c.Duration, "duration", 30*time.Second, "how long to drive the load")
	fs.IntVar(&c.MaxInFlight, "max-inflight", 2000, "open loop: actions in flight at most (more wait, and the wait counts in their latency)")
	fs.StringVar(&c.Mix, "mix", DefaultMix, "weights of the storefront actions: "+actionNames())
	fs.Float64Var(&c.DeclineRate, "decline-rate", 0.1, "share of checkouts paid with the declined test card "+CardDeclined)
	fs.DurationVar(&c.Timeout, "timeout", 10*time.Second, "timeout of one request")
	fs.DurationVar(&c.SettleTimeout, "settle-timeout", time.Minute, "how long to wait for placed orders to be paid or cancelled")
	fs.BoolVar(&c.Check, "check", true, "run the consistency check after the load")
	fs.Uint64Var(&c.RandSeed, "rand-seed", 0, "seed of the random choices (0: from the clock)")
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.GatewayAddr); err != nil {
		errs = append(errs, fmt.Errorf("gateway.addr %q is not host:port", c.GatewayAddr))
	}
	if c.AdminEmail == "" || c.AdminPassword == "" {
		errs = append(errs, errors.New("an admin account is required: -user.bootstrap-admin-email and -user.bootstrap-admin-password (OC_USER_BOOTSTRAP_ADMIN_EMAIL/_PASSWORD)"))
	}
	switch c.Seed {
	case SeedAPI, SeedNone:
	case SeedDirect:
		if c.DirectSeed == nil {
			errs = append(errs, errors.New("-seed=direct needs Config.DirectSeed (the command asks the product service by product.seed over -amqp.url)"))
		}
	default:
		errs = append(errs, fmt.Errorf("seed %q: want api, direct or none", c.Seed))
	}
	if c.Seed != SeedNone && c.Products < 1 {
		errs = append(errs, errors.New("products must be positive"))
	}
	if c.Seed == SeedAPI && (c.RootCategories < 1 || c.SubCategories < 1 || c.Sellers < 1) {
		errs = append(errs, errors.New("categories, subcategories and sellers must be positive"))
	}
	if c.Users < 1 {
		errs = append(errs, errors.New("users must be positive"))
	}
	if c.StockMin < 0 || c.StockMax < c.StockMin || c.StockMax > 1_000_000 {
		errs = append(errs, errors.New("want 0 ≤ stock.min ≤ stock.max ≤ 1000000"))
	}
	if c.SeedConcurrency < 1 || c.MaxInFlight < 1 {
		errs = append(errs, errors.New("seed.concurrency and max-inflight must be positive"))
	}
	if c.Rate < 0 || (c.Rate == 0 && c.VUs < 1) {
		errs = append(errs, errors.New("want -rate > 0 (open loop) or -vus ≥ 1 (closed loop)"))
	}
	if c.Duration <= 0 || c.Timeout <= 0 || c.SettleTimeout <= 0 || c.Think < 0 {
		errs = append(errs, errors.New("duration, timeout and settle-timeout must be positive, think not negative"))
	}
	if c.DeclineRate < 0 || c.DeclineRate > 1 {
		errs = append(errs, errors.New("decline-rate must be in [0,1]"))
	}
	if _, err := ParseMix(c.Mix); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// baseURL is the gateway's URL from GatewayAddr.
func (c Config) baseURL() string {
	host, port, _ := net.SplitHostPort(c.GatewayAddr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/api/v1"
}
