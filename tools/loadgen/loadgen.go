// Package loadgen drives a realistic storefront load through the gateway
// and reports what the platform did with it.
//
// A run has four phases:
//
//  1. Seed: an admin (Config.AdminEmail) makes a category tree, sellers
//     register and create products concurrently through the public API
//     (or the product.seed RPC has the product service write them, or an existing
//     catalogue is used); customers register and sign in.
//  2. Load: the storefront mix (home page = featured + category tree,
//     category pages, search, product pages, add to cart, checkout with the
//     test cards, a share of them declined) runs either open-loop at a fixed
//     rate — latency measured from each action's scheduled time, so a
//     stalled system cannot hide its stall (coordinated omission) — or
//     closed-loop with N virtual users. Progress prints once a second.
//  3. Settle: every placed order is polled until it is paid or cancelled.
//  4. Check: for every product an order touched, the inventory read through
//     the API (as the admin) must balance: initial stock = available +
//     reserved + units of paid orders, with the ledger's outgoing entries
//     agreeing; every paid order has exactly one successful charge.
//
// Latencies go into log-linear histograms (Histogram) with a relative error
// below 0.4%, mergeable across endpoints. The gateway's rate limits apply
// to the load like to any client: run it against a platform whose
// -gateway.rate-* classes allow the rate (the bench and the tests start one
// so).
package loadgen

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// gen is one run.
type gen struct {
	cfg     Config
	mix     *Mix
	run     string
	seed    uint64
	rec     *Recorder
	cl      *Client // recorded: the load
	plain   *Client // not recorded: seeding, settling, checks
	cat     catalogue
	idle    chan *session
	workers sync.Pool

	ordersMu sync.Mutex
	orders   []placed

	out      io.Writer
	tty      bool
	progress func(format string, args ...any)
	report   Report

	limitedOnce sync.Once // the rate-limit hint is printed once

	workerSeq atomic.Uint64
}

// Options are the run's outputs.
type Options struct {
	// Progress receives the live progress and notes; nil discards them.
	Progress io.Writer
	// TTY makes the progress a single updating line.
	TTY bool
}

// Run seeds, loads, settles and checks as cfg says, and returns the
// report. An error means the run could not be carried out (seeding failed,
// the context ended during setup); failures of the platform under load are
// in the report, not errors.
func Run(ctx context.Context, cfg Config, opt Options) (*Report, error) {
	f, err := Prepare(ctx, cfg, opt)
	if err != nil {
		return nil, err
	}
	return f.Run(ctx)
}

// Fixture is a seeded catalogue with signed-in customers on a running
// platform: what Run loads, also usable by benchmarks that drive their own
// requests. Use one Fixture for one Run.
type Fixture struct{ g *gen }

// Prepare validates cfg, seeds the catalogue (or discovers it) and signs
// the admin and the customers in.
func Prepare(ctx context.Context, cfg Config, opt Options) (*Fixture, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	mix, _ := ParseMix(cfg.Mix)
	g := &gen{cfg: cfg, mix: mix, run: runID(), seed: cfg.RandSeed, rec: NewRecorder(), out: opt.Progress, tty: opt.TTY}
	if g.seed == 0 {
		g.seed = uint64(time.Now().UnixNano())
	}
	if g.out == nil {
		g.out = io.Discard
	}
	g.progress = func(format string, args ...any) { fmt.Fprintf(g.out, format+"\n", args...) }
	conns := max(cfg.MaxInFlight, cfg.VUs, cfg.SeedConcurrency) + 16
	var err error
	if g.cl, err = NewClient(cfg.baseURL(), conns, cfg.Timeout, g.rec); err != nil {
		return nil, err
	}
	if g.plain, err = NewClient(cfg.baseURL(), conns, cfg.Timeout, nil); err != nil {
		return nil, err
	}
	g.workers.New = func() any { return g.newWorker() }
	g.report = Report{Config: ReportConfig{Gateway: cfg.baseURL(), Seed: cfg.Seed, Mix: mix.String(), Duration: cfg.Duration,
		Rate: cfg.Rate, VUs: cfg.VUs, Users: cfg.Users, DeclineRate: cfg.DeclineRate}}
	if cfg.Rate > 0 {
		g.report.Config.Mode, g.report.Config.VUs = "open", 0
	} else {
		g.report.Config.Mode = "closed"
	}

	g.progress("seeding (%s): %d products, %d users", cfg.Seed, cfg.Products, cfg.Users)
	if err := g.prepare(ctx); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	g.report.Config.Products = len(g.cat.products)
	g.progress("seeded %d products in %d categories, %d users in %s", len(g.cat.products), len(g.cat.categories),
		len(g.cat.users), g.report.SeedDuration.Round(time.Millisecond))
	return &Fixture{g: g}, nil
}

// Run drives the load, waits for the orders to settle, checks consistency
// and returns the report.
func (f *Fixture) Run(ctx context.Context) (*Report, error) {
	g := f.g
	g.load(ctx)

	g.progress("waiting for %d orders to settle", len(g.orders))
	outcomes := g.settle(ctx)
	g.report.Orders = orderStats(outcomes)
	if g.cfg.Check {
		res, err := g.check(ctx, outcomes)
		if err != nil {
			return &g.report, fmt.Errorf("consistency check: %w", err)
		}
		g.report.Consistency = &res
	}
	return &g.report, nil
}

// ProductIDs are the products of the catalogue, most popular first.
func (f *Fixture) ProductIDs() []string {
	out := make([]string, len(f.g.cat.popular))
	for i, j := range f.g.cat.popular {
		out[i] = f.g.cat.products[j].ID
	}
	return out
}

// SearchTerms are words that occur in product names.
func (f *Fixture) SearchTerms() []string { return append([]string(nil), f.g.cat.terms...) }

// CustomerTokens are the access tokens of the signed-in customers.
func (f *Fixture) CustomerTokens() []string {
	out := make([]string, len(f.g.cat.users))
	for i, u := range f.g.cat.users {
		out[i] = u.Token
	}
	return out
}

// AdminToken is the admin's access token.
func (f *Fixture) AdminToken() string { return f.g.cat.admin.Token }

// load drives the mix for the configured duration with live progress.
func (g *gen) load(ctx context.Context) {
	start := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { g.live(start, stop) })
	if g.cfg.Rate > 0 {
		st := RunOpenLoop(ctx, g.cfg.Rate, g.cfg.Duration, g.cfg.MaxInFlight, g.iteration)
		g.report.Actions = st.Issued
		g.report.ScheduleMaxLag = st.MaxLag
		g.report.ScheduleBlocked = st.Blocked
	} else {
		g.report.Actions = RunClosedLoop(ctx, g.cfg.VUs, g.cfg.Duration, g.cfg.Think, g.iteration)
	}
	close(stop)
	wg.Wait()
	g.report.Elapsed = time.Since(start)
	g.report.Endpoints, g.report.Overall = g.rec.Summaries(g.report.Elapsed)
	if rl := g.rec.RateLimitedWaits(); len(rl) > 0 {
		g.report.RateLimited = rl
	}
}

// live prints requests/s, errors and p50/p99 of the last second, once a
// second: one updating line on a terminal, plain lines otherwise.
func (g *gen) live(start time.Time, stop chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := start
	for {
		select {
		case <-stop:
			if g.tty {
				fmt.Fprintln(g.out)
			}
			return
		case now := <-t.C:
			n, errs, h := g.rec.Interval()
			g.ordersMu.Lock()
			orders := len(g.orders)
			g.ordersMu.Unlock()
			line := ProgressLine(now.Sub(start), float64(n)/now.Sub(last).Seconds(), errs, &h, orders)
			last = now
			if g.tty {
				fmt.Fprintf(g.out, "\r\033[K%s", line)
			} else {
				fmt.Fprintln(g.out, line)
			}
		}
	}
}

// ProgressLine formats one progress report.
func ProgressLine(elapsed time.Duration, perSec float64, errors uint64, h *Histogram, orders int) string {
	return fmt.Sprintf("%5s  %8.0f req/s  errors %-5d p50 %-9s p99 %-9s orders %d",
		elapsed.Round(time.Second), perSec, errors, fmtDur(h.QuantileDuration(0.5)), fmtDur(h.QuantileDuration(0.99)), orders)
}

func orderStats(outcomes []OrderOutcome) OrderStats {
	s := OrderStats{Placed: len(outcomes), CancelledBy: map[string]int{}}
	for _, o := range outcomes {
		switch {
		case soldStatuses[o.Status]:
			s.Paid++
		case o.Status == "cancelled":
			s.Cancelled++
			s.CancelledBy[o.Reason]++
		case !final(o.Status):
			s.Unsettled++
		}
	}
	return s
}

// check gathers the inventories (and charge counts when the API did not
// give them) and runs Check.
func (g *gen) check(ctx context.Context, outcomes []OrderOutcome) (CheckResult, error) {
	if g.cfg.Charges != nil {
		var ids []string
		for _, o := range outcomes {
			if o.Charges < 0 {
				ids = append(ids, o.ID)
			}
		}
		if len(ids) > 0 {
			n, err := g.cfg.Charges(ctx, ids)
			if err != nil {
				return CheckResult{}, fmt.Errorf("count charges: %w", err)
			}
			for i := range outcomes {
				if outcomes[i].Charges < 0 {
					outcomes[i].Charges = n[outcomes[i].ID]
				}
			}
		}
	}
	// The inventory follows the orders through events (order.paid commits
	// the held units, order.cancelled releases them), so it may lag the
	// order statuses a little: read it again until it balances or the
	// settle time is over, and report the last reading.
	deadline := time.Now().Add(g.cfg.SettleTimeout)
	for {
		inv, err := g.inventories(ctx, outcomes)
		if err != nil {
			return CheckResult{}, err
		}
		res := Check(CheckInput{Orders: outcomes, Products: inv})
		if res.OK || time.Now().After(deadline) || ctx.Err() != nil {
			return res, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sortedKeys returns m's keys in order.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	return slices.Sorted(maps.Keys(m))
}
