// Package platform wires the modules of the one binary: the configuration
// of every component, the infrastructure modules (admin, bus, redis, nats,
// discovery), the event mirror (mirror, pulled in by the gateway) and the
// service modules, in dependency order. cmd/opencommerce
// is a thin main over it, and tests start the whole platform in process
// with it.
package platform

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/discovery"
	"github.com/opencommerce/opencommerce/internal/natsx"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/internal/redisx"
	"github.com/opencommerce/opencommerce/internal/svc"
)

// Version is set at build time (-ldflags "-X github.com/opencommerce/opencommerce/platform.Version=...").
var Version = "dev"

// Config is the whole process configuration: one struct per component, each
// registering its own flags.
type Config struct {
	Target        string
	Log           LogConfig
	Admin         svc.AdminConfig
	ShutdownDelay time.Duration
	StopTimeout   time.Duration
	AMQP          bus.Config
	Server        bus.ServerConfig
	Consumer      bus.ConsumerConfig
	PG            pg.Config
	DBPrefix      string
	Relay         pg.RelayConfig
	Redis         redisx.Config
	Consul        discovery.Config
	NATS          natsx.Config
	Services      ServicesConfig
	// DepsExplicit refuses to start when a server the targets use has no
	// address given explicitly (see CheckExplicitServers).
	DepsExplicit bool
}

// RegisterFlags registers every component's flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Target, "target", "all", "comma-separated modules to run: all, "+strings.Join(publicTargets, ", "))
	fs.DurationVar(&c.ShutdownDelay, "shutdown.delay", 5*time.Second, "how long /readyz reports 503 before modules stop, so Consul drops the instance")
	fs.DurationVar(&c.StopTimeout, "shutdown.timeout", 30*time.Second, "bound on stopping every module after the delay")
	c.Log.RegisterFlags(fs)
	c.Admin.RegisterFlags(fs)
	c.AMQP.RegisterFlags(fs)
	c.Server.RegisterFlags(fs)
	c.Consumer.RegisterFlags(fs)
	c.PG.RegisterFlags(fs)
	fs.StringVar(&c.DBPrefix, "pg.database-prefix", "oc_", "prefix of every service's database name (oc_user, oc_order, ...)")
	c.Relay.RegisterFlags(fs)
	c.Redis.RegisterFlags(fs)
	c.Consul.RegisterFlags(fs)
	c.NATS.RegisterFlags(fs)
	c.Services.RegisterFlags(fs)
	fs.BoolVar(&c.DepsExplicit, "deps.explicit", false, "refuse to start when a server the targets use (PostgreSQL, RabbitMQ, Redis, NATS, SMTP) is not configured explicitly: no localhost default, no embedded NATS (set by the Nomad jobs)")
}

// Validate checks every component and the target list.
func (c Config) Validate() error {
	var errs []error
	for _, t := range c.Targets() {
		if t != "all" && !isTarget(t) {
			errs = append(errs, fmt.Errorf("target %q: want all or some of %s", t, strings.Join(publicTargets, ", ")))
		}
	}
	// The server and consumer settings are shared by every service; each
	// module fills in its own name.
	server, consumer := c.Server, c.Consumer
	server.Service, consumer.Service = "any", "any"
	consumer.Bindings = []string{"any"}
	for _, v := range []interface{ Validate() error }{c.Log, c.Admin, c.AMQP, server, consumer, c.PG, c.Relay, c.Redis, c.Consul, c.NATS, c.Services} {
		if err := v.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.ShutdownDelay < 0 || c.StopTimeout <= 0 {
		errs = append(errs, errors.New("shutdown.delay must be ≥ 0 and shutdown.timeout > 0"))
	}
	return errors.Join(errs...)
}

// Targets splits the target list.
func (c Config) Targets() []string {
	var out []string
	for _, t := range strings.Split(c.Target, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func isTarget(t string) bool {
	for _, p := range publicTargets {
		if p == t {
			return true
		}
	}
	return false
}

// TargetNames lists the modules -target accepts.
func TargetNames() []string { return append([]string(nil), publicTargets...) }

// Platform holds the process-wide resources the infrastructure modules make
// and the service modules share.
type Platform struct {
	cfg     Config
	consul  *api.Client
	nats    *nats.Conn
	js      jetstream.JetStream
	log     *slog.Logger
	reg     *prometheus.Registry
	health  *svc.Health
	manager *svc.Manager
	deps    svc.Deps
}

// New builds the platform's modules; Run starts them.
func New(cfg Config, log *slog.Logger) *Platform {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "oc_build_info", Help: "Build version and the targets this process runs."}, []string{"version", "target"})
	build.WithLabelValues(Version, cfg.Target).Set(1)
	reg.MustRegister(build)

	// The NATS subject scheme (a prefix in tests) is shared by every module
	// that talks to NATS.
	cfg.Services.Notification.NATS = cfg.NATS.Scheme()
	cfg.Services.Stream.Scheme = cfg.NATS.Scheme()
	cfg.Services.Mirror.Scheme = cfg.NATS.Scheme()
	health := svc.NewHealth()
	p := &Platform{cfg: cfg, log: log, reg: reg, health: health}
	p.manager = svc.NewManager(log, health)
	p.manager.ShutdownDelay = cfg.ShutdownDelay
	p.manager.StopTimeout = cfg.StopTimeout
	p.deps = svc.Deps{
		Log:         log,
		Metrics:     reg,
		Health:      health,
		PG:          cfg.PG,
		DBPrefix:    cfg.DBPrefix,
		RedisPrefix: cfg.Redis.Prefix,
		Server:      cfg.Server,
		Consumer:    cfg.Consumer,
		Relay:       cfg.Relay,
	}

	p.manager.Register(svc.Module{Name: "admin", Init: func(context.Context) (svc.Service, error) {
		return svc.NewAdmin(cfg.Admin, health, reg, log), nil
	}})
	p.manager.Register(svc.Module{Name: "bus", Deps: []string{"admin"}, Init: p.initBus})
	p.manager.Register(svc.Module{Name: "redis", Deps: []string{"admin"}, Init: p.initRedis})
	p.manager.Register(svc.Module{Name: "consul", Deps: []string{"admin"}, Init: p.initConsul})
	p.manager.Register(svc.Module{Name: "nats", Deps: []string{"admin"}, Init: p.initNATS})
	p.registerServices()
	return p
}

func (p *Platform) initBus(ctx context.Context) (svc.Service, error) {
	conn, err := bus.Dial(ctx, p.cfg.AMQP, p.log, p.reg)
	if err != nil {
		return nil, err
	}
	cli, err := bus.NewClient(conn, p.cfg.AMQP.Client, p.log, p.reg)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	p.deps.Bus, p.deps.RPC = conn, cli
	p.health.Add("amqp", func(context.Context) error { return conn.Ready() })
	return svc.Funcs{StopFunc: func(context.Context) error {
		return errors.Join(cli.Close(), conn.Close())
	}}, nil
}

func (p *Platform) initRedis(ctx context.Context) (svc.Service, error) {
	rdb, err := redisx.Open(ctx, p.cfg.Redis)
	if err != nil {
		return nil, err
	}
	p.deps.Redis = rdb
	p.health.Add("redis", redisx.Ready(rdb))
	return svc.Funcs{StopFunc: func(context.Context) error { return rdb.Close() }}, nil
}

// Run starts the configured targets and blocks until ctx is done or a
// module fails, then drains and stops everything.
func (p *Platform) Run(ctx context.Context) error { return p.manager.Run(ctx, p.cfg.Targets()) }

// Health is the readiness registry behind /readyz.
func (p *Platform) Health() *svc.Health { return p.health }

// Registry is the process's metrics registry.
func (p *Platform) Registry() *prometheus.Registry { return p.reg }

// initConsul makes the Consul client (nil in static mode) used for
// self-registration and the gateway's watches.
func (p *Platform) initConsul(context.Context) (svc.Service, error) {
	if p.cfg.Consul.Static() {
		return nil, nil
	}
	c, err := p.cfg.Consul.Client()
	if err != nil {
		return nil, err
	}
	p.consul = c
	return nil, nil
}

// registered wraps a module's service so that, once it serves, it registers
// in Consul (when -consul.register is on) and deregisters before it stops.
type registered struct {
	svc.Service
	p          *Platform
	reg        discovery.Registration
	deregister func(context.Context) error
}

func (r *registered) Start(ctx context.Context) error {
	if err := r.Service.Start(ctx); err != nil {
		return err
	}
	dereg, err := discovery.RegisterIfEnabled(ctx, r.p.cfg.Consul, r.p.consul, r.reg)
	if err != nil {
		_ = r.Service.Stop(ctx)
		return err
	}
	r.deregister = dereg
	return nil
}

func (r *registered) Stop(ctx context.Context) error {
	var err error
	if r.deregister != nil {
		err = r.deregister(ctx)
	}
	return errors.Join(err, r.Service.Stop(ctx))
}

// registration describes a module instance for Consul: its main port
// (the admin port for RPC-only services), the admin port checked on
// /readyz and scraped for metrics, and its RPC queue.
func (p *Platform) registration(service string, port int, meta map[string]string) discovery.Registration {
	_, ap, _ := net.SplitHostPort(p.cfg.Admin.Addr)
	adminPort, _ := strconv.Atoi(ap)
	if port == 0 {
		port = adminPort
	}
	m := map[string]string{discovery.MetaRPCQueue: discovery.RPCQueue(service)}
	for k, v := range meta {
		m[k] = v
	}
	return p.cfg.Consul.NewRegistration(service, port, adminPort, m)
}

// initNATS connects to NATS (or embeds a server when -nats.url is empty) and
// makes sure the JetStream streams exist.
func (p *Platform) initNATS(ctx context.Context) (svc.Service, error) {
	nc, js, closeFn, err := natsx.Connect(ctx, p.cfg.NATS, p.log)
	if err != nil {
		return nil, err
	}
	p.nats, p.js = nc, js
	p.health.Add("nats", natsx.Ready(nc))
	return svc.Funcs{StopFunc: func(context.Context) error {
		closeFn()
		return nil
	}}, nil
}
