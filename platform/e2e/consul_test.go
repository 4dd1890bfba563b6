package e2e_test

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/opencommerce/opencommerce/internal/discovery"
	"github.com/opencommerce/opencommerce/internal/discovery/consultest"
	"github.com/opencommerce/opencommerce/internal/telemetry/telemetrytest"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/platform"
	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// routed are the services the gateway routes to (and so watches).
var routed = []string{"user", "product", "order", "notification", "file"}

// consulUnderTest is the Consul the platform talks to: the in-process fake
// (consultest), or a real agent on this host when CONSUL_HTTP_ADDR is set
// (with CONSUL_HTTP_TOKEN if ACLs are on; its HTTP checks must reach
// 127.0.0.1). Everything a test puts there has a
// unique prefix (-consul.service-prefix, the live-config key), so runs
// against one agent do not collide.
type consulUnderTest struct {
	fake   *consultest.Server // nil against a real agent
	addr   string
	token  string
	prefix string // service-name prefix
	key    string // live-config KV key
	client *api.Client
	// settle bounds waits that are not under test: a real agent runs the
	// /readyz check every second after a random stagger.
	settle time.Duration
}

func newConsulUnderTest(t *testing.T) *consulUnderTest {
	t.Helper()
	run := strings.ReplaceAll(testenv.Name("e2e"), "_", "-")
	c := &consulUnderTest{prefix: run + "-", key: "opencommerce-test/" + run + "/gateway/config"}
	if addr := os.Getenv("CONSUL_HTTP_ADDR"); addr != "" {
		c.addr, c.token, c.settle = addr, os.Getenv("CONSUL_HTTP_TOKEN"), 30*time.Second
	} else {
		c.fake = consultest.New(t)
		c.addr, c.settle = c.fake.Addr, 10*time.Second
	}
	client, err := discovery.NewClient(c.addr, c.token, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.client = client
	t.Cleanup(func() { _, _ = client.KV().Delete(c.key, nil) })
	return c
}

// configure points the platform's discovery at c. register is
// -consul.register (off when Nomad registers the services).
func (c *consulUnderTest) configure(cfg *platform.Config, register bool) {
	cfg.Consul.Addr = c.addr
	cfg.Consul.Token = c.token
	cfg.Consul.Register = register
	cfg.Consul.ServicePrefix = c.prefix
	cfg.Consul.ConfigKey = c.key
	cfg.Consul.MinQueryInterval = 10 * time.Millisecond
	// A change reaches the gateway by ending its parked blocking query;
	// the longest wait makes a gateway that waited it out fail the test.
	cfg.Consul.WaitTime = discovery.MaxWaitTime
	cfg.Consul.CheckInterval, cfg.Consul.CheckTimeout = time.Second, time.Second
}

// instanceID is the ID a self-registered instance of svc has: Register's
// default, Service-Address-Port, on the admin port (the data port for
// the file service).
func (c *consulUnderTest) instanceID(env *platformtest.Env, svc string) string {
	addr := env.Config.Admin.Addr
	if svc == discovery.FileService {
		addr = env.Config.Services.File.DataAddr
	}
	_, port, _ := net.SplitHostPort(addr)
	return c.prefix + svc + "-127.0.0.1-" + port
}

// registered returns the agent's services under c's prefix, by ID, and
// every check of each.
func (c *consulUnderTest) registered(t *testing.T) (map[string]*api.AgentService, map[string][]*api.AgentCheck) {
	t.Helper()
	services, err := c.client.Agent().Services()
	if err != nil {
		t.Fatalf("agent services: %v", err)
	}
	checks, err := c.client.Agent().Checks()
	if err != nil {
		t.Fatalf("agent checks: %v", err)
	}
	mine := map[string]*api.AgentService{}
	for id, s := range services {
		if strings.HasPrefix(s.Service, c.prefix) {
			mine[id] = s
		}
	}
	byService := map[string][]*api.AgentCheck{}
	for _, ch := range checks {
		if mine[ch.ServiceID] != nil {
			byService[ch.ServiceID] = append(byService[ch.ServiceID], ch)
		}
	}
	return mine, byService
}

// letChecksPass makes the /readyz checks of instances pass: the fake runs
// no checks, so the test sets them as the agent would; a real agent runs
// them itself.
func (c *consulUnderTest) letChecksPass(t *testing.T, ids ...string) {
	t.Helper()
	if c.fake == nil {
		return
	}
	for _, id := range ids {
		if err := c.fake.SetCheck(id, api.HealthPassing); err != nil {
			t.Fatal(err)
		}
	}
}

// addSwitch gives instance serviceID a second check, a TTL check the test
// sets through the agent's /v1/agent/check/update endpoint, on a real agent
// as on the fake: failing /readyz instead would take every module of the
// process down, and a real agent runs it only every interval. The instance
// is passing while both checks pass. It starts passing.
func (c *consulUnderTest) addSwitch(t *testing.T, serviceID string) string {
	t.Helper()
	id := serviceID + "-e2e-switch"
	err := c.client.Agent().CheckRegister(&api.AgentCheckRegistration{
		ID: id, Name: "e2e switch", ServiceID: serviceID,
		AgentServiceCheck: api.AgentServiceCheck{TTL: "10m", Status: api.HealthPassing},
	})
	if err != nil {
		t.Fatalf("register TTL check on %s: %v", serviceID, err)
	}
	t.Cleanup(func() { _ = c.client.Agent().CheckDeregister(id) })
	return id
}

// flip sets the TTL check id passing or critical and returns when the
// agent (or the fake) holds the new state.
func (c *consulUnderTest) flip(t *testing.T, id string, passing bool) {
	t.Helper()
	status := api.HealthCritical
	if passing {
		status = api.HealthPassing
	}
	if err := c.client.Agent().UpdateTTL(id, "set by the e2e test", status); err != nil {
		t.Fatalf("set TTL check %s: %v", id, err)
	}
}

// waitParked waits until the gateway's watch of svc is parked in a
// blocking query, so the next change must wake it. Only the fake can tell;
// against a real agent the 10-minute wait alone makes the point.
func (c *consulUnderTest) waitParked(t *testing.T, svc string) {
	t.Helper()
	if c.fake == nil {
		return
	}
	path := "/v1/health/service/" + c.prefix + svc
	testenv.EventuallyWithin(t, c.settle, "the gateway's watch of "+svc+" parked in a blocking query", func() bool { return c.fake.Blocked(path) >= 1 })
}

// Issue 3 through the whole platform in Consul mode: every module
// registers itself (-consul.register) with an HTTP check on the admin
// port, the gateway routes only to services whose checks pass, an instance
// going critical turns its routes to 503 with Retry-After and coming back
// restores them, both through the watcher's parked blocking query (not a
// poll), and the live config in KV applies at once (an invalid value is
// refused and the config in force kept).
func TestConsulDiscoveryAndLiveConfig(t *testing.T) {
	t.Parallel()
	consul := newConsulUnderTest(t)
	env := platformtest.Start(t, platformtest.Options{WideRateLimits: true, Tweak: func(c *platform.Config) {
		consul.configure(c, true)
	}})
	c := newClient(t, env)
	_, adminPort, _ := net.SplitHostPort(env.Config.Admin.Addr)
	_, dataPort, _ := net.SplitHostPort(env.Config.Services.File.DataAddr)
	readyz := "http://127.0.0.1:" + adminPort + "/readyz"

	services, checks := consul.registered(t)
	var ids []string
	for _, svc := range routed {
		id := consul.instanceID(env, svc)
		ids = append(ids, id)
		reg := services[id]
		if reg == nil {
			t.Fatalf("%s did not register as %s (registered: %v)", svc, id, slices.Sorted(maps.Keys(services)))
		}
		if reg.Service != consul.prefix+svc || !slices.Contains(reg.Tags, discovery.TagMetrics) || reg.Meta[discovery.MetaRPCQueue] != discovery.RPCQueue(svc) {
			t.Errorf("%s registration: name %q tags %v meta %v", svc, reg.Service, reg.Tags, reg.Meta)
		}
		if cs := checks[id]; len(cs) != 1 || cs[0].Type != "http" || cs[0].Definition.HTTP != readyz {
			t.Fatalf("%s checks %+v; want one HTTP check on the admin port, %s", svc, cs, readyz)
		}
	}
	if f := services[consul.instanceID(env, discovery.FileService)]; f.Port != atoi(t, dataPort) || f.Meta[discovery.MetaDataPort] != dataPort {
		t.Errorf("file service registered on port %d meta %v; want its data port %s", f.Port, f.Meta, dataPort)
	}

	if consul.fake != nil {
		// Registered checks start critical: nothing is routed yet. (A real
		// agent may have run the checks already.)
		r := c.do("GET", "/categories", nil)
		if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
			t.Fatalf("before any check passed: %s (Retry-After %q)", r, r.Header.Get("Retry-After"))
		}
	}
	consul.letChecksPass(t, ids...)
	testenv.EventuallyWithin(t, consul.settle, "catalogue routed once product passes", func() bool { return c.do("GET", "/categories", nil).Status == http.StatusOK })

	// An instance going critical: its routes answer 503 with Retry-After
	// once the agent holds the new state. The gateway's watcher is parked
	// in a blocking query that waits -consul.wait (10 minutes here) unless
	// a change ends it: a change seen within settle came through that
	// query, the real path, not a poll or the wait running out.
	//
	// Each probe searches for new text: the gateway caches anonymous
	// searches for a few seconds and serves a cached answer before it asks
	// discovery, so a repeated query would measure the cache, not routing.
	probes := 0
	search := func() response {
		probes++
		return c.do("GET", fmt.Sprintf("/products?q=probe%d", probes), nil)
	}
	product := consul.addSwitch(t, consul.instanceID(env, "product"))
	testenv.EventuallyWithin(t, consul.settle, "product routed with its switch passing", func() bool { return search().Status == http.StatusOK })
	consul.waitParked(t, "product")
	consul.flip(t, product, false)
	testenv.EventuallyWithin(t, consul.settle, "product routes 503 with Retry-After once product is critical (the parked query must wake)", func() bool {
		r := search()
		return r.Status == http.StatusServiceUnavailable && r.Header.Get("Retry-After") != ""
	})
	// Other services keep serving: a failed login is the user service's
	// answer (503 would be the gateway's).
	if r := c.do("POST", "/auth/login", map[string]string{"email": "nobody@opencommerce.test", "password": "Wrong-Passw0rd!"}); r.Status != http.StatusUnauthorized {
		t.Fatalf("login while product is critical: %s; want the user service's 401", r)
	}
	consul.waitParked(t, "product")
	consul.flip(t, product, true)
	testenv.EventuallyWithin(t, consul.settle, "product routes back once product passes (the parked query must wake)", func() bool { return search().Status == http.StatusOK })

	// Live config from KV, written as an operator's `consul kv put`.
	put := func(v string) {
		t.Helper()
		if _, err := consul.client.KV().Put(&api.KVPair{Key: consul.key, Value: []byte(v)}, nil); err != nil {
			t.Fatalf("kv put: %v", err)
		}
	}
	put(`{"maintenance": true}`)
	testenv.EventuallyWithin(t, consul.settle, "maintenance on", func() bool { return c.do("GET", "/categories", nil).Status == http.StatusServiceUnavailable })
	put(`{"maintenance": false, "rate_limits": {"search": {"rate": 0, "burst": 1}}}`) // invalid: rate 0
	testenv.EventuallyWithin(t, consul.settle, "the invalid value seen and refused", func() bool {
		return telemetrytest.Value(t, env.Platform.Registry(), "oc_discovery_kv_updates_total", map[string]string{"key": consul.key, "result": "refused"}) >= 1
	})
	if r := c.do("GET", "/categories", nil); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("an invalid KV value was applied: %s", r)
	}
	put(`{"maintenance": false, "rate_limits": {"search": {"rate": 0.01, "burst": 2}}}`)
	testenv.EventuallyWithin(t, consul.settle, "maintenance off", func() bool { return c.do("GET", "/categories", nil).Status == http.StatusOK })
	limited := false
	for i := 0; i < 5 && !limited; i++ {
		limited = c.do("GET", fmt.Sprintf("/products?q=lamp%d", i), nil).Status == http.StatusTooManyRequests
	}
	if !limited {
		t.Fatal("the search rate limit from KV (burst 2) did not apply")
	}
}

// Under Nomad (provider = "consul") Nomad registers the services and
// -consul.register stays off: the platform must register nothing (or every
// instance appears twice) and still route through what Consul holds.
func TestConsulWithoutSelfRegistration(t *testing.T) {
	t.Parallel()
	consul := newConsulUnderTest(t)
	env := platformtest.Start(t, platformtest.Options{WideRateLimits: true, Tweak: func(c *platform.Config) {
		consul.configure(c, false)
	}})
	c := newClient(t, env)
	if services, _ := consul.registered(t); len(services) != 0 {
		t.Fatalf("-consul.register off, yet registered: %v", slices.Sorted(maps.Keys(services)))
	}
	if consul.fake != nil {
		if n := consul.fake.Requests(http.MethodPut, "/v1/agent/service/register"); n != 0 {
			t.Fatalf("%d register requests with -consul.register off, want 0", n)
		}
	}
	if r := c.do("GET", "/categories", nil); r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("no product instance in Consul: %s (Retry-After %q); want 503 at once", r, r.Header.Get("Retry-After"))
	}

	// Nomad registers product (its job's service block: the admin port,
	// an HTTP check on /readyz).
	_, adminPort, _ := net.SplitHostPort(env.Config.Admin.Addr)
	reg := env.Config.Consul.NewRegistration("product", atoi(t, adminPort), atoi(t, adminPort), map[string]string{discovery.MetaRPCQueue: discovery.RPCQueue("product")})
	reg.ID = consul.prefix + "product-nomad-alloc-1"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dereg, err := discovery.Register(ctx, consul.client, reg)
	if err != nil {
		t.Fatalf("register as Nomad would: %v", err)
	}
	t.Cleanup(func() { _ = dereg(context.Background()) })
	consul.letChecksPass(t, reg.ID)
	testenv.EventuallyWithin(t, consul.settle, "catalogue routed to the instance Nomad registered", func() bool {
		return c.do("GET", "/categories", nil).Status == http.StatusOK
	})
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("port %q: %v", s, err)
	}
	return n
}
