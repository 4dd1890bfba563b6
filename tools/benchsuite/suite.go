// Package benchsuite is `make bench`: in one run on one machine it measures
// the bare baselines — a fasthttp handler answering ~300 bytes of JSON, an
// amqp091-go RPC echo (tools/benchrpc), a pgx SELECT by primary key
// on a temporary table, and a pgx SELECT of the very product rows the
// product figures read, straight from the platform's product database — and
// the platform's own figures through its gateway — a product read served
// from the gateway cache, a product read the gateway does not cache, a
// search, and checkout-to-paid — and prints
// each platform figure as a ratio to its baseline beside the absolute
// numbers, with the core count and the server versions.
//
// The platform runs as a subprocess of the opencommerce binary (or in
// process) on an Env of its own: a fresh RabbitMQ vhost, its own database
// prefix, Redis key prefix, NATS namespace and free ports, all removed
// afterwards. Every figure uses the same closed-loop driver (N requests in
// flight over keep-alive connections, fasthttp client) and the figures are
// measured in interleaved rounds, so load from elsewhere on the machine hits
// them alike. The gateway-level component figures of tools/edgebench are
// included too.
//
// The catalogue is seeded through the API (as sellers would) or, for large
// catalogues (Options.Seed), by the product.seed RPC (the product service
// writes the rows itself); either way the products are then found through
// the API.
package benchsuite

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/tools/benchrpc"
	"github.com/opencommerce/opencommerce/tools/edgebench"
	"github.com/opencommerce/opencommerce/tools/loadgen"
)

// Options configure Run.
type Options struct {
	Servers Servers
	// Binary is the opencommerce executable to start the platform with;
	// empty starts it in this process.
	Binary string
	// Duration is the measuring time of each figure (split into Rounds).
	Duration time.Duration
	// InFlight is the requests in flight of every figure except checkout.
	InFlight int
	// CheckoutInFlight is the checkouts in flight.
	CheckoutInFlight int
	// Products is the catalogue size seeded for the platform figures.
	Products int
	// Seed is how the catalogue is made: SeedAPI (through the gateway, as
	// sellers would), SeedDirect (the product.seed RPC: the product service writes the
	// rows into its database, then the catalogue is discovered through the
	// API), or "" for SeedAPI up to DirectSeedAbove products and SeedDirect
	// above (seeding 100,000 products through the API takes many minutes).
	Seed string
	// Edge adds the gateway component figures of tools/edgebench.
	Edge bool
	// RPC adds the RPC layer figures of tools/benchrpc: round trips
	// through the bus and a bare amqp091-go echo, at RPCInFlight calls in
	// flight (1, 16, 64 and 256 when empty).
	RPC         bool
	RPCInFlight []int
	// Progress receives notes while the suite runs (nil: none).
	Progress io.Writer
	// PlatformLog, when set, receives the platform's log at the end.
	PlatformLog io.Writer
	// ExtraEnv are more OC_ settings for the platform.
	ExtraEnv []string
}

// Rounds is how many interleaved slices each figure is measured in.
const Rounds = 3

// Seed modes of Options.Seed.
const (
	SeedAPI    = loadgen.SeedAPI
	SeedDirect = loadgen.SeedDirect
)

// DirectSeedAbove is the catalogue size above which Options.Seed "" seeds
// directly.
const DirectSeedAbove = 10_000

// seedMode resolves Options.Seed.
func (o Options) seedMode() (string, error) {
	switch o.Seed {
	case "":
		if o.Products > DirectSeedAbove {
			return SeedDirect, nil
		}
		return SeedAPI, nil
	case SeedAPI, SeedDirect:
		return o.Seed, nil
	}
	return "", fmt.Errorf("bench: seed %q: want %q, %q or empty (automatic)", o.Seed, SeedAPI, SeedDirect)
}

// Figure is one measurement.
type Figure struct {
	Name     string          `json:"name"`
	What     string          `json:"what"`
	InFlight int             `json:"in_flight"`
	Requests uint64          `json:"requests"`
	Errors   uint64          `json:"errors"`
	PerSec   float64         `json:"per_sec"`
	Latency  loadgen.Latency `json:"latency"`
	// Baseline names the baseline figure this one is compared with, and
	// Ratio is PerSec over the baseline's.
	Baseline string  `json:"baseline,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"`
}

// Results is what Run measured; it is written as JSON for comparing runs.
type Results struct {
	Time     time.Time         `json:"time"`
	Command  string            `json:"command"`
	Machine  Machine           `json:"machine"`
	Versions map[string]string `json:"versions"`
	Duration time.Duration     `json:"duration_ns"`
	Products int               `json:"products"`
	Seed     string            `json:"seed"`
	// SeedTime is how long seeding and discovering the catalogue took.
	SeedTime  time.Duration     `json:"seed_duration_ns"`
	Baselines []Figure          `json:"baselines"`
	Platform  []Figure          `json:"platform"`
	Edge      *edgebench.Report `json:"edge,omitempty"`
	RPC       []benchrpc.Result `json:"rpc,omitempty"`
	Notes     []string          `json:"notes,omitempty"`
}

// Machine describes where the figures were taken.
type Machine struct {
	Cores      int    `json:"cores"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	Go         string `json:"go"`
	LoadAvg    string `json:"loadavg,omitempty"`
}

// Names of the figures.
const (
	BareHTTP        = "bare fasthttp"
	BareRPC         = "bare amqp091 RPC echo"
	BarePG          = "bare pgx SELECT by PK"
	BareProductRow  = "bare pgx SELECT of a product row"
	ProductCached   = "product read, gateway cache"
	ProductUncached = "product read, not cached at the gateway"
	Search          = "search"
	CheckoutPaid    = "checkout to paid"
)

// target is one figure being measured.
type target struct {
	name, what, baseline string
	inFlight             int
	op                   func(ctx context.Context, w int) (lat time.Duration, ok bool)
	close                func()

	hist     loadgen.Histogram
	n, errs  uint64
	elapsed  time.Duration
	mu       sync.Mutex
	platform bool
}

// measure runs t with t.inFlight workers for d, adding to its totals.
func (t *target) measure(ctx context.Context, d time.Duration) {
	var wg sync.WaitGroup
	var n, errs atomic.Uint64
	hs := make([]loadgen.Histogram, t.inFlight)
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	for w := range t.inFlight {
		wg.Go(func() {
			for runCtx.Err() == nil {
				lat, ok := t.op(ctx, w)
				n.Add(1)
				if !ok {
					errs.Add(1)
				}
				hs[w].RecordDuration(lat)
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range hs {
		t.hist.Merge(&hs[i])
	}
	t.n += n.Load()
	t.errs += errs.Load()
	t.elapsed += el
}

func (t *target) figure() Figure {
	f := Figure{Name: t.name, What: t.what, InFlight: t.inFlight, Requests: t.n, Errors: t.errs,
		Latency: loadgen.LatencyOf(&t.hist), Baseline: t.baseline}
	if t.elapsed > 0 {
		f.PerSec = float64(t.n-t.errs) / t.elapsed.Seconds()
	}
	return f
}

// Run performs the whole suite and returns the results. The platform and
// every resource it made are removed before Run returns.
func Run(ctx context.Context, opt Options) (res *Results, err error) {
	if opt.Duration <= 0 {
		opt.Duration = 6 * time.Second
	}
	if opt.InFlight <= 0 {
		opt.InFlight = 64
	}
	if opt.CheckoutInFlight <= 0 {
		opt.CheckoutInFlight = 16
	}
	if opt.Products <= 0 {
		opt.Products = 2000
	}
	seed, err := opt.seedMode()
	if err != nil {
		return nil, err
	}
	opt.Seed = seed
	note := func(format string, args ...any) {
		if opt.Progress != nil {
			fmt.Fprintf(opt.Progress, format+"\n", args...)
		}
	}
	res = &Results{
		Time:     time.Now().UTC(),
		Machine:  Machine{Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), OS: runtime.GOOS, Arch: runtime.GOARCH, Go: runtime.Version(), LoadAvg: loadAvg()},
		Duration: opt.Duration,
		Products: opt.Products,
		Seed:     opt.Seed,
	}

	env, err := NewEnv(ctx, opt.Servers)
	if err != nil {
		return nil, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if cerr := env.Close(cctx); cerr != nil {
			note("cleanup: %v", cerr)
		}
	}()
	res.Versions = Versions(ctx, opt.Servers, env.AMQPURL)

	var targets []*target
	defer func() {
		for _, t := range targets {
			if t.close != nil {
				t.close()
			}
		}
	}()
	note("starting the baselines")
	for _, mk := range []func(context.Context, Options, *Env) (*target, error){bareHTTP, bareRPC, barePG} {
		t, err := mk(ctx, opt, env)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}

	if err := measureAll(ctx, opt, env, res, targets, note); err != nil {
		return nil, err
	}

	if opt.RPC {
		inflight := opt.RPCInFlight
		if len(inflight) == 0 {
			inflight = []int{1, 16, 64, 256}
		}
		note("RPC layer figures (tools/benchrpc) at %v in flight", inflight)
		renv, err := NewEnv(ctx, opt.Servers)
		if err != nil {
			return nil, err
		}
		rr, err := benchrpc.Run(ctx, renv.AMQPURL, inflight, opt.Duration)
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = renv.Close(cctx)
		cancel()
		if err != nil {
			res.Notes = append(res.Notes, "benchrpc: "+err.Error())
		} else {
			res.RPC = rr
		}
	}
	if opt.Edge {
		note("gateway component figures (tools/edgebench)")
		redisAddr := strings.TrimPrefix(strings.TrimPrefix(opt.Servers.RedisURL, "redis://"), "rediss://")
		if i := strings.IndexByte(redisAddr, '/'); i >= 0 {
			redisAddr = redisAddr[:i]
		}
		// A vhost of its own: its echo service takes the name "product".
		eenv, err := NewEnv(ctx, opt.Servers)
		if err != nil {
			return nil, err
		}
		er, err := edgebench.Run(ctx, edgebench.Options{AMQPURL: eenv.AMQPURL, RedisAddr: redisAddr,
			Conns: []int{opt.InFlight}, Duration: opt.Duration})
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = eenv.Close(cctx)
		cancel()
		if err != nil {
			res.Notes = append(res.Notes, "edgebench: "+err.Error())
		} else {
			res.Edge = &er
		}
	}
	return res, nil
}

// measureAll starts the platform on env, seeds it, and measures the
// baselines and the platform figures in interleaved rounds into res; the
// platform is stopped when it returns.
func measureAll(ctx context.Context, opt Options, env *Env, res *Results, targets []*target, note func(string, ...any)) error {
	note("starting the platform (vhost %s, database prefix %s)", env.Name, env.DBPrefix)
	p, err := Start(ctx, env, opt.Binary, opt.ExtraEnv)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if serr := p.Stop(sctx); serr != nil {
			note("stop the platform: %v", serr)
		}
		if opt.PlatformLog != nil {
			_, _ = io.WriteString(opt.PlatformLog, p.LogTail(1<<20))
		}
	}()
	// The product database: the product-row baseline reads the same rows
	// the product figures ask for (the seed goes through product.seed).
	productDB, err := pg.Open(ctx, pg.Config{URL: env.Servers.PGURL, MaxConns: int32(opt.InFlight), MinConns: int32(opt.InFlight)},
		env.DBPrefix+"product", nil)
	if err != nil {
		return fmt.Errorf("open the product database: %w", err)
	}
	defer productDB.Close()
	lcfg := loadgen.Config{
		GatewayAddr: env.GatewayAddr, AdminEmail: env.AdminEmail, AdminPassword: env.AdminPassword,
		Seed: opt.Seed, Products: opt.Products, RootCategories: 8, SubCategories: 4, Sellers: 8,
		Users: max(opt.InFlight, opt.CheckoutInFlight), StockMin: 1_000_000, StockMax: 1_000_000, SeedConcurrency: 16,
		VUs: 1, Duration: time.Second, MaxInFlight: 1, Mix: loadgen.DefaultMix, Timeout: 10 * time.Second,
		SettleTimeout: time.Minute,
	}
	if opt.Seed == SeedDirect {
		note("seeding %d products in bulk through the product service (product.seed)", opt.Products)
		seeder, err := loadgen.DialProductSeeder(ctx, bus.Config{URL: env.AMQPURL, Name: "bench-seed"})
		if err != nil {
			return err
		}
		defer seeder.Close()
		seeder.Stock = benchStock
		lcfg.DirectSeed = seeder.Seed
	} else {
		note("seeding %d products through the API", opt.Products)
	}
	t0 := time.Now()
	fx, err := loadgen.Prepare(ctx, lcfg, loadgen.Options{Progress: opt.Progress})
	if err != nil {
		return err
	}
	res.SeedTime = time.Since(t0)
	note("catalogue ready in %s: %d active products found through the API", res.SeedTime.Round(time.Second), len(fx.ProductIDs()))
	pts, err := platformTargets(env, opt, fx)
	if err != nil {
		return err
	}
	cols, err := productRowColumns(ctx, productDB)
	if err != nil {
		return fmt.Errorf("the product row's columns: %w", err)
	}
	pts = append(pts, productRow(opt, productDB, cols, fx.ProductIDs()))
	targets = append(targets, pts...)
	defer func() {
		for _, t := range pts {
			if t.close != nil {
				t.close()
			}
		}
	}()

	note("warming up")
	for _, t := range targets {
		t.measure(ctx, 300*time.Millisecond)
		t.hist.Reset()
		t.n, t.errs, t.elapsed = 0, 0, 0
	}
	for r := range Rounds {
		for _, t := range targets {
			note("round %d/%d: %s", r+1, Rounds, t.name)
			t.measure(ctx, opt.Duration/Rounds)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	byName := map[string]Figure{}
	for _, t := range targets {
		byName[t.name] = t.figure()
	}
	for _, t := range targets {
		f := byName[t.name]
		if b, ok := byName[f.Baseline]; ok && b.PerSec > 0 {
			f.Ratio = f.PerSec / b.PerSec
		}
		if t.platform {
			res.Platform = append(res.Platform, f)
		} else {
			res.Baselines = append(res.Baselines, f)
		}
	}

	return nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// WriteJSON writes r to path (creating its directory).
func (r *Results) WriteJSON(path string) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Format prints the results: machine and versions, then every figure with
// its absolute numbers and, for platform figures, the ratio to its
// baseline.
func (r *Results) Format(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "OpenCommerce bench %s — %d cores (GOMAXPROCS %d), %s/%s, %s, load average %s\n",
		r.Time.Format(time.RFC3339), m.Cores, m.GOMAXPROCS, m.OS, m.Arch, m.Go, m.LoadAvg)
	var vs []string
	for _, k := range []string{"postgresql", "rabbitmq", "redis", "nats", "go"} {
		vs = append(vs, k+" "+r.Versions[k])
	}
	fmt.Fprintf(w, "servers: %s\n", strings.Join(vs, ", "))
	seeded := fmt.Sprintf("%d products seeded", r.Products)
	if r.Seed != "" {
		seeded += fmt.Sprintf(" (%s, %s)", r.Seed, r.SeedTime.Round(time.Second))
	}
	fmt.Fprintf(w, "closed loop, each figure %s in %d interleaved rounds; %s\n\n", r.Duration, Rounds, seeded)
	width := 0
	for _, f := range append(append([]Figure(nil), r.Baselines...), r.Platform...) {
		width = max(width, len(f.Name))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tin flight\tper s\tp50\tp90\tp99\tp99.9\terrors\t  %-*s\tratio\t\n", width, "figure", width, "vs baseline")
	row := func(f Figure) {
		ratio, base := "", ""
		if f.Baseline != "" {
			base = f.Baseline
			ratio = fmt.Sprintf("%.3f", f.Ratio)
		}
		l := f.Latency
		fmt.Fprintf(tw, "%-*s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%d\t  %-*s\t%s\t\n", width, f.Name, f.InFlight, f.PerSec,
			dur(l.P50), dur(l.P90), dur(l.P99), dur(l.P999), f.Errors, width, base, ratio)
	}
	for _, f := range r.Baselines {
		row(f)
	}
	for _, f := range r.Platform {
		row(f)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	for _, f := range append(append([]Figure(nil), r.Baselines...), r.Platform...) {
		fmt.Fprintf(w, "  %s: %s\n", f.Name, f.What)
	}
	if len(r.RPC) > 0 {
		fmt.Fprintf(w, "\nRPC layer (tools/benchrpc: bus vs bare amqp091-go echo, same machine, same run):\n%s", benchrpc.Table(r.RPC))
	}
	if r.Edge != nil {
		fmt.Fprintf(w, "\ngateway components (tools/edgebench, same machine, same run):\n%s", r.Edge.Table())
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func dur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}
