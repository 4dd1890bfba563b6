package discovery

import (
	"flag"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-cleanhttp"

	"github.com/opencommerce/opencommerce/contracts"
)

// Defaults of Config; see RegisterFlags for what each means.
const (
	DefaultConfigKey          = "opencommerce/gateway/config"
	DefaultFileDataURL        = "http://127.0.0.1:8090"
	DefaultWaitTime           = 5 * time.Minute
	DefaultMinQueryInterval   = time.Second
	DefaultStaticPollInterval = time.Second
	DefaultCheckInterval      = 5 * time.Second
	DefaultCheckTimeout       = 2 * time.Second
	DefaultDeregisterAfter    = time.Minute
	// MinDeregisterAfter is Consul's floor for DeregisterCriticalServiceAfter:
	// a smaller value is silently raised by the agent, so Validate refuses it.
	MinDeregisterAfter = time.Minute
	// MaxWaitTime is Consul's ceiling for a blocking query's wait.
	MaxWaitTime = 10 * time.Minute
	// DefaultStaticInspectTimeout bounds one queue inspection in static
	// mode: a passive queue.declare answers in milliseconds; one that does
	// not answer in time counts as failed (the last answer stands).
	DefaultStaticInspectTimeout = 2 * time.Second
)

// Config selects and tunes discovery for one process. Its flags use the
// prefix "consul." (plus "file.data-url" for the static file-service
// address). One Config per flag set.
//
// Addr empty means static mode: no Consul at all, health comes from the
// broker (consumers on rpc.<service>) and gateway config from defaults.
type Config struct {
	// Addr is the Consul HTTP address ("127.0.0.1:8500" or
	// "https://consul.example:8501"); empty selects static mode.
	Addr string
	// Token is the ACL token sent with every request (empty: none, or what
	// the consul/api library finds in CONSUL_HTTP_TOKEN).
	Token string
	// ServicePrefix is put before every Consul service name this process
	// registers and watches ("staging-" turns "product" into
	// "staging-product"), so several environments (or test runs) can share
	// one Consul. Empty (the default) uses the plain names. Queues, metric
	// labels and Instance.Service keep the plain names.
	ServicePrefix string
	// Register makes the process register itself with the local agent.
	// Leave it off when Nomad registers the service (provider = "consul"),
	// or every instance appears twice.
	Register bool
	// AdvertiseAddr is the address other hosts (and the agent's HTTP check)
	// reach this process at; it goes into the registration.
	AdvertiseAddr string
	// CheckInterval, CheckTimeout and DeregisterAfter tune the HTTP check
	// on /readyz of a self-registered instance.
	CheckInterval   time.Duration
	CheckTimeout    time.Duration
	DeregisterAfter time.Duration
	// WaitTime is the longest a blocking query waits (Consul caps it at 10m).
	WaitTime time.Duration
	// MinQueryInterval is the steady rate of a watch loop when the watched
	// data churns: a token bucket of burst 2 lets quick changes through and
	// then limits each loop to one query per interval (Consul's advice).
	MinQueryInterval time.Duration
	// ConfigKey is the KV key of the gateway's live config.
	ConfigKey string
	// StaticPollInterval is how often static mode inspects the RPC queues.
	StaticPollInterval time.Duration
	// FileDataURL is where static mode sends file uploads (the file
	// service's data port); with Consul it comes from the instance's
	// data_port meta.
	FileDataURL string
}

// RegisterFlags registers the "consul.*" flags and "file.data-url" on fs,
// with defaults that work on a developer machine (static mode).
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "consul.addr", "", "Consul HTTP address (host:port or URL); empty = static discovery through the broker")
	fs.StringVar(&c.Token, "consul.token", "", "Consul ACL token")
	fs.StringVar(&c.ServicePrefix, "consul.service-prefix", "", "prefix of every Consul service name registered and watched (several environments on one Consul)")
	fs.BoolVar(&c.Register, "consul.register", false, "register this process in Consul (leave off when Nomad registers the service)")
	fs.StringVar(&c.AdvertiseAddr, "consul.advertise-addr", "127.0.0.1", "address other hosts and the Consul health check reach this process at")
	fs.DurationVar(&c.CheckInterval, "consul.check-interval", DefaultCheckInterval, "interval of the HTTP check on /readyz")
	fs.DurationVar(&c.CheckTimeout, "consul.check-timeout", DefaultCheckTimeout, "timeout of the HTTP check on /readyz")
	fs.DurationVar(&c.DeregisterAfter, "consul.deregister-after", DefaultDeregisterAfter, "deregister an instance critical this long (minimum 1m)")
	fs.DurationVar(&c.WaitTime, "consul.wait", DefaultWaitTime, "longest wait of a blocking query (max 10m)")
	fs.DurationVar(&c.MinQueryInterval, "consul.min-query-interval", DefaultMinQueryInterval, "rate limit of each watch loop under churn (token bucket, burst 2)")
	fs.StringVar(&c.ConfigKey, "consul.config-key", DefaultConfigKey, "Consul KV key of the gateway's live config")
	fs.DurationVar(&c.StaticPollInterval, "consul.static-poll-interval", DefaultStaticPollInterval, "static mode: how often to inspect rpc.<service> queues")
	fs.StringVar(&c.FileDataURL, "file.data-url", DefaultFileDataURL, "static mode: base URL of the file service's data port")
}

// Defaults returns a Config holding the flag defaults.
func Defaults() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("defaults", flag.ContinueOnError))
	return c
}

// Static reports whether c selects static mode (no Consul).
func (c Config) Static() bool { return c.Addr == "" }

// Validate reports the first invalid field as a *contracts.Error with code
// invalid_argument and the flag name in details.field.
func (c Config) Validate() error {
	if c.Addr != "" {
		if strings.Contains(c.Addr, "://") {
			u, err := url.Parse(c.Addr)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "unix") || u.Host == "" && u.Scheme != "unix" {
				return contracts.InvalidArgument("consul.addr", "consul.addr %q is not host:port or an http(s) URL", c.Addr)
			}
		} else if strings.ContainsAny(c.Addr, "/ ") {
			return contracts.InvalidArgument("consul.addr", "consul.addr %q is not host:port or an http(s) URL", c.Addr)
		}
	}
	if strings.ContainsFunc(c.ServicePrefix, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-' && r != '_'
	}) {
		return contracts.InvalidArgument("consul.service-prefix", "consul.service-prefix %q may hold only letters, digits, '-' and '_'", c.ServicePrefix)
	}
	if c.Register && c.Addr == "" {
		return contracts.InvalidArgument("consul.register", "consul.register needs consul.addr")
	}
	if c.Register && c.AdvertiseAddr == "" {
		return contracts.InvalidArgument("consul.advertise-addr", "consul.advertise-addr is required to register")
	}
	if c.CheckInterval <= 0 {
		return contracts.InvalidArgument("consul.check-interval", "consul.check-interval must be positive")
	}
	if c.CheckTimeout <= 0 || c.CheckTimeout > c.CheckInterval {
		return contracts.InvalidArgument("consul.check-timeout", "consul.check-timeout must be positive and at most consul.check-interval")
	}
	if c.DeregisterAfter < MinDeregisterAfter {
		return contracts.InvalidArgument("consul.deregister-after", "consul.deregister-after must be at least %s (Consul's minimum)", MinDeregisterAfter)
	}
	if c.WaitTime < time.Second || c.WaitTime > MaxWaitTime {
		return contracts.InvalidArgument("consul.wait", "consul.wait must be between 1s and %s", MaxWaitTime)
	}
	if c.MinQueryInterval <= 0 {
		return contracts.InvalidArgument("consul.min-query-interval", "consul.min-query-interval must be positive")
	}
	if c.ConfigKey == "" || strings.HasPrefix(c.ConfigKey, "/") {
		return contracts.InvalidArgument("consul.config-key", "consul.config-key must be a non-empty key without a leading slash")
	}
	if c.StaticPollInterval <= 0 {
		return contracts.InvalidArgument("consul.static-poll-interval", "consul.static-poll-interval must be positive")
	}
	if u, err := url.Parse(c.FileDataURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return contracts.InvalidArgument("file.data-url", "file.data-url %q must be an absolute http(s) URL", c.FileDataURL)
	}
	return nil
}

// Client returns a Consul client for c.Addr, or (nil, nil) in static mode.
// Its HTTP client has no overall timeout, as blocking queries need; each
// call is bounded by its context and the query's wait time.
func (c Config) Client() (*api.Client, error) {
	if c.Static() {
		return nil, nil
	}
	return NewClient(c.Addr, c.Token, nil)
}

// NewClient returns a Consul client for addr and token. transport nil
// means the library's pooled transport (with TLS settings applied for
// https); tests pass a wrapping RoundTripper to count requests. The HTTP
// client has no overall timeout: blocking queries are bounded by their
// wait time and their context.
func NewClient(addr, token string, transport http.RoundTripper) (*api.Client, error) {
	cfg := &api.Config{Address: addr, Token: token}
	switch t := transport.(type) {
	case nil:
		// Every watch loop holds a connection in a long poll; keep them
		// all idle-able so answers do not force a new TCP connection.
		tr := cleanhttp.DefaultPooledTransport()
		tr.MaxIdleConnsPerHost = 64
		cfg.Transport = tr
	case *http.Transport:
		cfg.Transport = t
	default:
		cfg.HttpClient = &http.Client{Transport: t}
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, contracts.InvalidArgument("consul.addr", "consul client for %q: %v", addr, err)
	}
	return c, nil
}

// WatchOptions returns the watcher options c implies; callers add Log,
// Metrics and OnChange.
func (c Config) WatchOptions() WatchOptions {
	return WatchOptions{
		WaitTime:           c.WaitTime,
		MinQueryInterval:   c.MinQueryInterval,
		StaticPollInterval: c.StaticPollInterval,
		FileDataURL:        c.FileDataURL,
		ServicePrefix:      c.ServicePrefix,
	}
}
