package svc

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// AdminConfig configures the admin HTTP port.
type AdminConfig struct {
	Addr string
}

// RegisterFlags registers the admin flags.
func (c *AdminConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "admin.addr", ":9090", "admin HTTP address serving /healthz, /readyz and /metrics")
}

// Validate checks the admin configuration.
func (c AdminConfig) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("admin.addr %q: %w", c.Addr, err)
	}
	return nil
}

// Admin serves /healthz (the process is alive), /readyz (real dependency
// state) and /metrics.
type Admin struct {
	srv *http.Server
	ln  net.Listener
	log *slog.Logger
}

// NewAdmin builds the admin server; extra handlers may be mounted on mux.
func NewAdmin(cfg AdminConfig, health *Health, gatherer prometheus.Gatherer, log *slog.Logger) *Admin {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.Handle("/readyz", health.ReadyHandler())
	mux.Handle("/metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	return &Admin{
		srv: &http.Server{
			Addr:              cfg.Addr,
			Handler:           mux,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       60 * time.Second,
		},
		log: log,
	}
}

// Start listens first, so a port error surfaces at once, then serves in a
// goroutine.
func (a *Admin) Start(context.Context) error {
	ln, err := net.Listen("tcp", a.srv.Addr)
	if err != nil {
		return fmt.Errorf("admin listen %s: %w", a.srv.Addr, err)
	}
	a.ln = ln
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("admin server stopped", "err", err)
		}
	}()
	return nil
}

// Addr is the address the admin server listens on (after Start).
func (a *Admin) Addr() string {
	if a.ln == nil {
		return a.srv.Addr
	}
	return a.ln.Addr().String()
}

// Stop shuts the server down gracefully within ctx.
func (a *Admin) Stop(ctx context.Context) error { return a.srv.Shutdown(ctx) }
