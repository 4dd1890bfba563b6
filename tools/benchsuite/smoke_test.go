package benchsuite_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/tools/benchsuite"
	"github.com/opencommerce/opencommerce/tools/loadgen"
)

// startPlatform starts the whole platform in this process on an isolated
// Env (fresh vhost, database and key prefixes, free ports), with cheap
// password hashing; everything is removed when the test ends. extraEnv
// (OC_* settings) overrides the bench's own.
func startPlatform(t *testing.T, extraEnv ...string) *benchsuite.Env {
	t.Helper()
	s := benchsuite.LocalTestServers(t)
	ctx := context.Background()
	env, err := benchsuite.NewEnv(ctx, s)
	if err != nil {
		testenv.Unavailable(t, "RabbitMQ management API", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := env.Close(ctx); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	p, err := benchsuite.Start(ctx, env, "", append([]string{
		"OC_USER_ARGON2_MEMORY_KIB=1024", "OC_USER_ARGON2_TIME=1", "OC_LOG_LEVEL=warn",
	}, extraEnv...))
	if err != nil {
		t.Fatalf("start the platform: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.Stop(ctx); err != nil {
			t.Logf("stop: %v", err)
		}
		if t.Failed() {
			t.Logf("platform log (tail):\n%s", p.LogTail(8000))
		}
	})
	return env
}

// A short run of the storefront mix against the real platform: no request
// fails, every order settles, and stock and charges balance — first on a
// catalogue seeded through the API, then on one the product service made in
// bulk (product.seed) (discovered through the API, with the first one).
func TestLoadgenSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole platform")
	}
	env := startPlatform(t)
	ctx := context.Background()
	orderDB, err := pg.Open(ctx, pg.Config{URL: env.Servers.PGURL, MaxConns: 2}, env.DBPrefix+"order", nil)
	if err != nil {
		t.Fatalf("order database: %v", err)
	}
	defer orderDB.Close()
	seeder, err := loadgen.DialProductSeeder(ctx, bus.Config{URL: env.AMQPURL})
	if err != nil {
		t.Fatalf("seeder: %v", err)
	}
	defer seeder.Close()

	cfg := loadgen.Config{
		GatewayAddr: env.GatewayAddr, AdminEmail: env.AdminEmail, AdminPassword: env.AdminPassword,
		Seed: loadgen.SeedAPI, Products: 50, RootCategories: 2, SubCategories: 2, Sellers: 2, Users: 6,
		StockMin: 200, StockMax: 300, SeedConcurrency: 8,
		VUs: 4, Duration: 3 * time.Second, MaxInFlight: 64,
		// Checkout-heavy, so a few seconds place enough orders to check.
		Mix: "home=10,category=10,search=10,product=20,cart=25,checkout=25", DeclineRate: 0.25,
		Timeout: 10 * time.Second, SettleTimeout: 30 * time.Second, Check: true,
		Charges: loadgen.PGChargeCounter(orderDB), RandSeed: 42,
	}
	t.Run("api seed, closed loop", func(t *testing.T) { smoke(t, cfg, true) })

	cfg.Seed, cfg.DirectSeed = loadgen.SeedDirect, seeder.Seed
	cfg.VUs, cfg.Rate, cfg.Duration = 0, 60, 2*time.Second
	// Seed gives some products little or no stock: sold-out lines may
	// cancel orders (out_of_stock), which the check must still balance.
	t.Run("direct seed, open loop", func(t *testing.T) { smoke(t, cfg, false) })
}

func smoke(t *testing.T, cfg loadgen.Config, ampleStock bool) {
	ctx := context.Background()
	var progress bytes.Buffer
	rep, err := loadgen.Run(ctx, cfg, loadgen.Options{Progress: &progress})
	var out bytes.Buffer
	if rep != nil {
		rep.Format(&out)
	}
	if err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, progress.String(), out.String())
	}
	t.Logf("\n%s", out.String())
	if rep.Overall.Requests == 0 || rep.Overall.Errors != 0 {
		t.Fatalf("%d requests, %d errors; want some and none", rep.Overall.Requests, rep.Overall.Errors)
	}
	o := rep.Orders
	if o.Placed == 0 || o.Paid == 0 || o.Unsettled != 0 {
		t.Fatalf("orders %+v: want some placed and paid, none unsettled", o)
	}
	// A declined order awaits another card; the load's shopper gives it up
	// (cancelled_by_user), which is the only cancellation while stock is
	// ample.
	if ampleStock && (o.Paid+o.Cancelled != o.Placed || o.CancelledBy["cancelled_by_user"] != o.Cancelled) {
		t.Fatalf("orders %+v: every order is paid or declined and given up (stock is ample)", o)
	}
	c := rep.Consistency
	if c == nil || !c.OK || !c.ChargesKnown || c.ProductsChecked == 0 {
		t.Fatalf("consistency %+v", c)
	}
}

// With the gateway's default rate limits (which the bench otherwise
// raises), loadgen finishes without errors: seeding and the load wait as
// Retry-After says, and the report says the limits bounded the run and how
// to raise them.
func TestLoadgenWithDefaultLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole platform")
	}
	env := startPlatform(t, "OC_GATEWAY_RATE_DEFAULT=100/1s:200", "OC_GATEWAY_RATE_LOGIN=10/1m:5",
		"OC_GATEWAY_RATE_SEARCH=20/1s:40", "OC_GATEWAY_RATE_CHECKOUT=10/1m:5", "OC_GATEWAY_RATE_UPLOAD=30/1m:10")
	orderDB, err := pg.Open(context.Background(), pg.Config{URL: env.Servers.PGURL, MaxConns: 2}, env.DBPrefix+"order", nil)
	if err != nil {
		t.Fatalf("order database: %v", err)
	}
	defer orderDB.Close()
	cfg := loadgen.Config{
		GatewayAddr: env.GatewayAddr, AdminEmail: env.AdminEmail, AdminPassword: env.AdminPassword,
		Seed: loadgen.SeedAPI, Products: 12, RootCategories: 1, SubCategories: 2, Sellers: 1, Users: 2,
		StockMin: 200, StockMax: 300, SeedConcurrency: 4,
		VUs: 6, Duration: 4 * time.Second, MaxInFlight: 64,
		// Anonymous browsing from one address goes past the search class.
		Mix: "home=10,category=30,search=40,product=15,cart=3,checkout=2", DeclineRate: 0,
		Timeout: 10 * time.Second, SettleTimeout: 30 * time.Second, Check: true,
		Charges: loadgen.PGChargeCounter(orderDB), RandSeed: 7,
	}
	var progress bytes.Buffer
	rep, err := loadgen.Run(context.Background(), cfg, loadgen.Options{Progress: &progress})
	var out bytes.Buffer
	if rep != nil {
		rep.Format(&out)
	}
	if err != nil {
		t.Fatalf("run: %v\n%s\n%s", err, progress.String(), out.String())
	}
	t.Logf("\n%s\n%s", progress.String(), out.String())
	if rep.Overall.Requests == 0 || rep.Overall.Errors != 0 {
		t.Fatalf("%d requests, %d errors with the default limits; want some and none", rep.Overall.Requests, rep.Overall.Errors)
	}
	if len(rep.RateLimited) == 0 || !strings.Contains(out.String(), "OC_GATEWAY_RATE_SEARCH") {
		t.Fatalf("the run met no limit, or the report does not say how to raise them:\n%s", out.String())
	}
	if !strings.Contains(progress.String(), "rate limited") {
		t.Fatalf("seeding met no limit, or did not say so:\n%s", progress.String())
	}
	if c := rep.Consistency; c == nil || !c.OK {
		t.Fatalf("consistency %+v", c)
	}
}
