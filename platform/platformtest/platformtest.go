// Package platformtest starts the whole platform (or some targets) in
// process for end-to-end tests, on the real servers and isolated: a fresh
// RabbitMQ vhost, a unique database prefix (databases dropped afterwards), a
// unique Redis prefix, free ports, a temporary file directory, low argon2
// cost and a bootstrap admin. Tests then talk to it only through the
// gateway's public HTTP API, as a storefront would.
package platformtest

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/natsx/natsxtest"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/platform"
)

// Admin credentials of the bootstrap admin every Env has.
const (
	AdminEmail    = "admin@opencommerce.test"
	AdminPassword = "Admin-Passw0rd!"
)

// Env is a running platform.
type Env struct {
	// BaseURL is the gateway's public base, "http://127.0.0.1:port".
	BaseURL string
	// AdminURL is the admin port's base URL.
	AdminURL string
	// AMQPURL is the vhost the platform runs on.
	AMQPURL string
	Config  platform.Config
	// Platform is the running platform.
	Platform *platform.Platform
}

// Options tune Start.
type Options struct {
	// Targets defaults to all.
	Targets string
	// AMQPURL reuses a vhost (two platforms on one broker); empty makes one.
	AMQPURL string
	// WideRateLimits lifts every gateway rate class far above what a test
	// sends from its one client IP (tests of the limits leave it off).
	WideRateLimits bool
	// Tweak adjusts the configuration before start (after WideRateLimits).
	Tweak func(*platform.Config)
}

// Start runs the platform until the test ends, and waits for /readyz.
func Start(tb testing.TB, opt Options) *Env {
	tb.Helper()
	fs := flag.NewFlagSet("platformtest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var cfg platform.Config
	cfg.RegisterFlags(fs)
	if opt.Targets == "" {
		opt.Targets = "all"
	}
	cfg.Target = opt.Targets
	if opt.AMQPURL == "" {
		opt.AMQPURL = testenv.AMQP(tb)
	}
	_ = testenv.PG(tb) // fails or skips when PostgreSQL is away
	_, redisPrefix := testenv.Redis(tb)
	cfg.AMQP.URL = opt.AMQPURL
	cfg.PG.URL = testenv.PGURL
	cfg.PG.MaxConns = 6
	cfg.DBPrefix = testenv.Name("ocp") + "_"
	cfg.Redis.Prefix = redisPrefix
	cfg.Admin.Addr = testenv.FreeAddr(tb)
	cfg.ShutdownDelay = 0
	cfg.Log.Level = "error"
	if testenv.Verbose() {
		cfg.Log.Level = "debug"
	}
	tweakServices(tb, &cfg)
	ownNATS := cfg.NATS.Prefix
	if opt.WideRateLimits {
		g := &cfg.Services.Gateway
		g.RateDefault, g.RateLogin, g.RateSearch = "5000/1s:5000", "1000/1s:1000", "1000/1s:1000"
		g.RateCheckout, g.RateUpload = "1000/1s:1000", "1000/1s:1000"
	}
	if opt.Tweak != nil {
		opt.Tweak(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		tb.Fatalf("platform config: %v", err)
	}
	tb.Cleanup(func() { testenv.DropDatabases(cfg.DBPrefix) })
	if cfg.NATS.Prefix == ownNATS {
		// Streams under a prefix borrowed from another platform (a second
		// gateway instance) belong to that platform's cleanup.
		tb.Cleanup(func() { natsxtest.DropStreams(cfg.NATS) })
	}

	log := platform.NewLogger(cfg.Log, os.Stderr)
	p := platform.New(cfg, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() { runErr = p.Run(ctx); close(done) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-done:
			if runErr != nil {
				tb.Logf("platform stopped with: %v", runErr)
			}
		case <-time.After(60 * time.Second):
			tb.Errorf("platform did not stop within 60s")
		}
	})
	env := &Env{
		BaseURL:  "http://" + gatewayAddr(&cfg),
		AdminURL: "http://" + cfg.Admin.Addr,
		AMQPURL:  opt.AMQPURL,
		Config:   cfg,
		Platform: p,
	}
	waitReady(tb, env.AdminURL+"/readyz", done, &runErr)
	return env
}

func waitReady(tb testing.TB, url string, done chan struct{}, runErr *error) {
	tb.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			tb.Fatalf("platform exited while starting: %v", *runErr)
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	tb.Fatalf("platform not ready within 90s (%s)", url)
}

// Logger is a quiet logger for helpers.
func Logger() *slog.Logger { return slog.New(slog.DiscardHandler) }
