package order

import (
	"errors"
	"flag"
	"time"
)

// Config configures the order service.
type Config struct {
	// CartTTL is how long a cart lives after its last change.
	CartTTL time.Duration
	// PendingTimeout is how long an order may wait for the inventory's
	// answer before it is cancelled with reason reservation_timeout; it is
	// also the payment window of an order whose card was declined (counted
	// from placement), after which it is cancelled with payment_timeout.
	// Keep it below the product service's reservation TTL so the stock is
	// held for the whole window.
	PendingTimeout time.Duration
	// ChargeLease is how long one charge attempt owns an order; a crashed
	// attempt is retried by the sweeper after the lease ran out.
	ChargeLease time.Duration
	// ChargeRetryAfter is how long the sweeper waits before retrying a
	// charge whose outcome was unknown (provider error).
	ChargeRetryAfter time.Duration
	// SweepInterval is how often the recovery sweeper runs (it also runs
	// once at Start).
	SweepInterval time.Duration
	// IdempotencyRetention is how long a checkout's Idempotency-Key is
	// remembered (a replay after that places a new order).
	IdempotencyRetention time.Duration
	// CallTimeout bounds each call to another service (product.lookup,
	// user.addresses.list).
	CallTimeout time.Duration
	// Provider names the payment provider; only "test" (the built-in test
	// processor) exists so far.
	Provider string
	// Instance names this order process across restarts; "" means the
	// host name. A charge attempt records it as the holder of the order's
	// charge lease, and at Start the instance resumes at once the charges
	// its previous run left in flight (a crash) rather than waiting for
	// their leases to run out. Processes that share a name (several on one
	// host with the default) resume each other's in-flight charges when
	// one starts: harmless, since the provider call is idempotent per
	// order and attempt and the outcome is recorded once, but a unique
	// stable name per replica (a Nomad allocation's name) avoids it.
	Instance string
}

// RegisterFlags registers the flags, prefixed "order.", with defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.CartTTL, "order.cart-ttl", 30*24*time.Hour, "a cart expires this long after its last change")
	fs.DurationVar(&c.PendingTimeout, "order.pending-timeout", 15*time.Minute, "cancel an order the inventory has not answered within this time (reservation_timeout), or whose declined payment was not made again within this time of placement (payment_timeout)")
	fs.DurationVar(&c.ChargeLease, "order.charge-lease", time.Minute, "how long one charge attempt owns an order before the sweeper may retry it")
	fs.DurationVar(&c.ChargeRetryAfter, "order.charge-retry-after", 30*time.Second, "delay before a charge with an unknown outcome is retried")
	fs.DurationVar(&c.SweepInterval, "order.sweep-interval", 15*time.Second, "how often the recovery sweeper resumes stuck orders")
	fs.DurationVar(&c.IdempotencyRetention, "order.idempotency-retention", 7*24*time.Hour, "how long checkout idempotency keys are remembered")
	fs.DurationVar(&c.CallTimeout, "order.call-timeout", 5*time.Second, "timeout of calls to the product and user services")
	fs.StringVar(&c.Provider, "order.payment-provider", "test", "payment provider (test)")
	fs.StringVar(&c.Instance, "order.instance", "", "name of this order process across restarts (default: the host name); at start it resumes at once the charges its previous run left in flight")
}

// DefaultConfig returns the defaults RegisterFlags sets.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))
	return c
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.CartTTL <= 0:
		return errors.New("order.cart-ttl: must be positive")
	case c.PendingTimeout <= 0:
		return errors.New("order.pending-timeout: must be positive")
	case c.ChargeLease <= 0:
		return errors.New("order.charge-lease: must be positive")
	case c.ChargeRetryAfter <= 0:
		return errors.New("order.charge-retry-after: must be positive")
	case c.SweepInterval <= 0:
		return errors.New("order.sweep-interval: must be positive")
	case c.IdempotencyRetention <= 0:
		return errors.New("order.idempotency-retention: must be positive")
	case c.CallTimeout <= 0:
		return errors.New("order.call-timeout: must be positive")
	case c.Provider != "test":
		return errors.New(`order.payment-provider: must be "test"`)
	}
	return nil
}
