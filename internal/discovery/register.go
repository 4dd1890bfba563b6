package discovery

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/opencommerce/opencommerce/contracts"
)

// Registration describes one instance to register with the local Consul
// agent.
type Registration struct {
	// Service is the Consul service name ("product", "file", "gateway"),
	// with Config.ServicePrefix when one is set.
	Service string
	// ID is unique per instance; empty means Service-Address-Port.
	ID string
	// Address and Port are where the instance is reached. A service that
	// serves only RPC over the broker registers its admin port, so
	// Prometheus (consul_sd) scrapes it.
	Address string
	Port    int
	// AdminURL is the admin listener's base URL ("http://10.0.0.5:9090");
	// the agent checks AdminURL+"/readyz" over HTTP.
	AdminURL string
	// Tags; TagMetrics is added when missing.
	Tags []string
	// Meta such as MetaRPCQueue ("rpc.product") or, for the file service,
	// MetaDataPort ("8090").
	Meta map[string]string
	// CheckInterval, CheckTimeout and DeregisterAfter tune the check; zero
	// takes the defaults (5s, 2s, 1m). DeregisterAfter below Consul's 1m
	// minimum is refused.
	CheckInterval   time.Duration
	CheckTimeout    time.Duration
	DeregisterAfter time.Duration
}

// NewRegistration fills a Registration for service from c: the Consul
// service name (c.ServicePrefix + service), the advertised address, port
// (the main port; the admin port for RPC-only services), the admin URL on
// adminPort, the check tuning, tag "metrics" and meta.
func (c Config) NewRegistration(service string, port, adminPort int, meta map[string]string) Registration {
	return Registration{
		Service:         c.ServicePrefix + service,
		Address:         c.AdvertiseAddr,
		Port:            port,
		AdminURL:        "http://" + net.JoinHostPort(c.AdvertiseAddr, strconv.Itoa(adminPort)),
		Tags:            []string{TagMetrics},
		Meta:            meta,
		CheckInterval:   c.CheckInterval,
		CheckTimeout:    c.CheckTimeout,
		DeregisterAfter: c.DeregisterAfter,
	}
}

func (r *Registration) complete() error {
	if r.Service == "" || strings.ContainsAny(r.Service, "/ ") {
		return contracts.InvalidArgument("service", "registration needs a service name without '/' or spaces, got %q", r.Service)
	}
	if r.Address == "" {
		return contracts.InvalidArgument("address", "registration of %s needs an address", r.Service)
	}
	if r.Port <= 0 || r.Port > 65535 {
		return contracts.InvalidArgument("port", "registration of %s needs a port in 1..65535, got %d", r.Service, r.Port)
	}
	u, err := url.Parse(r.AdminURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return contracts.InvalidArgument("admin_url", "registration of %s needs an absolute http(s) admin URL, got %q", r.Service, r.AdminURL)
	}
	if r.ID == "" {
		r.ID = r.Service + "-" + r.Address + "-" + strconv.Itoa(r.Port)
	}
	if strings.Contains(r.ID, "/") {
		return contracts.InvalidArgument("id", "instance id %q must not contain '/'", r.ID)
	}
	if r.CheckInterval == 0 {
		r.CheckInterval = DefaultCheckInterval
	}
	if r.CheckTimeout == 0 {
		r.CheckTimeout = min(DefaultCheckTimeout, r.CheckInterval)
	}
	if r.DeregisterAfter == 0 {
		r.DeregisterAfter = DefaultDeregisterAfter
	}
	if r.CheckInterval < 0 || r.CheckTimeout < 0 || r.CheckTimeout > r.CheckInterval {
		return contracts.InvalidArgument("check_timeout", "check timeout must be positive and at most the interval")
	}
	if r.DeregisterAfter < MinDeregisterAfter {
		return contracts.InvalidArgument("deregister_after", "DeregisterCriticalServiceAfter must be at least %s (Consul's minimum), got %s", MinDeregisterAfter, r.DeregisterAfter)
	}
	if !slices.Contains(r.Tags, TagMetrics) {
		r.Tags = append(slices.Clone(r.Tags), TagMetrics)
	}
	return nil
}

// CheckURL is the URL the agent's HTTP check requests.
func (r Registration) CheckURL() string { return strings.TrimSuffix(r.AdminURL, "/") + "/readyz" }

// Register registers r with the agent behind client, with an HTTP check on
// r.AdminURL + "/readyz" that starts critical (no traffic until the first
// check passes). Registering the same ID again replaces the instance and
// its checks. The returned func deregisters it (call it on shutdown, after
// /readyz turned 503 and the drain delay); it is safe to call more than
// once. Invalid input is a *contracts.Error; agent errors are wrapped.
func Register(ctx context.Context, client *api.Client, r Registration) (deregister func(context.Context) error, err error) {
	if err := r.complete(); err != nil {
		return nil, err
	}
	svc := &api.AgentServiceRegistration{
		ID:      r.ID,
		Name:    r.Service,
		Address: r.Address,
		Port:    r.Port,
		Tags:    r.Tags,
		Meta:    maps.Clone(r.Meta),
		Check: &api.AgentServiceCheck{
			Name:                           r.Service + " readyz",
			HTTP:                           r.CheckURL(),
			Method:                         "GET",
			Interval:                       r.CheckInterval.String(),
			Timeout:                        r.CheckTimeout.String(),
			DeregisterCriticalServiceAfter: r.DeregisterAfter.String(),
			Status:                         api.HealthCritical,
		},
	}
	opts := api.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(ctx)
	if err := client.Agent().ServiceRegisterOpts(svc, opts); err != nil {
		return nil, fmt.Errorf("register %s in consul: %w", r.ID, err)
	}
	id := r.ID
	return func(ctx context.Context) error {
		if err := client.Agent().ServiceDeregisterOpts(id, (&api.QueryOptions{}).WithContext(ctx)); err != nil {
			if isNotFound(err) {
				return nil
			}
			return fmt.Errorf("deregister %s from consul: %w", id, err)
		}
		return nil
	}, nil
}

func isNotFound(err error) bool {
	var se api.StatusError
	return errors.As(err, &se) && se.Code == http.StatusNotFound
}

// RegisterIfEnabled registers r when cfg asks for self-registration
// (-consul.register with -consul.addr); otherwise it does nothing and
// returns a no-op deregister, so callers need no branch. client may be nil
// when registration is disabled.
func RegisterIfEnabled(ctx context.Context, cfg Config, client *api.Client, r Registration) (deregister func(context.Context) error, err error) {
	if !cfg.Register || cfg.Static() {
		return func(context.Context) error { return nil }, nil
	}
	if client == nil {
		return nil, contracts.InvalidArgument("consul.addr", "self-registration needs a Consul client")
	}
	return Register(ctx, client, r)
}
