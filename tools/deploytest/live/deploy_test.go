package live_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/opencommerce/opencommerce/tools/deploytest"
)

// jobs are the module jobs, in the order they are run (the gateway last).
var jobs = []string{"user", "product", "order", "notification", "file", "gateway"}

// cluster is one Consul, one Nomad (server and client) and one dockerd, on
// their own ports, sockets and directories, with the machine's PostgreSQL,
// RabbitMQ, Redis and NATS registered in Consul under the test's own
// database prefix, vhost, key prefix and subject prefix.
type cluster struct {
	t      *testing.T
	tl     tools
	root   string // repository root
	dir    string // the test's scratch directory
	id     string // unique per run: prefixes, vhost
	consul string // http://127.0.0.1:port
	nomad  string // http://127.0.0.1:port
	docker string // unix:///.../docker.sock
	image  string
	vars   []string // -var flags every job run gets
}

func (c *cluster) nomadEnv() []string {
	return []string{"NOMAD_ADDR=" + c.nomad, "CONSUL_HTTP_ADDR=" + strings.TrimPrefix(c.consul, "http://")}
}

// TestDeployOnNomad deploys the six module jobs as written on real agents
// and checks what an operator relies on. It runs only under make
// test-deploy (OC_DEPLOY_TEST=1), which installs the tools first; there a
// missing tool fails the test.
func TestDeployOnNomad(t *testing.T) {
	if os.Getenv("OC_DEPLOY_TEST") == "" {
		t.Skip("deploys on real Nomad, Consul and Docker: run make test-deploy (OC_DEPLOY_TEST=1)")
	}
	c := newCluster(t)
	c.startDocker()
	c.buildImages()
	c.startConsul()
	c.seed()
	c.startNomad()

	began := time.Now()
	for _, j := range jobs {
		c.runJob(j)
	}
	for _, j := range jobs {
		c.awaitDeployment(j, 0, 8*time.Minute)
	}
	t.Logf("all six jobs deployed and healthy in %v", time.Since(began).Round(time.Second))

	t.Run("services registered with passing checks", c.checkServices)
	gw := c.gatewayURL()
	t.Logf("gateway found through Consul at %s", gw)
	t.Run("KV live config applies", func(t *testing.T) { c.checkLiveConfig(t, gw) })
	shop := &shop{t: t, base: gw + "/api/v1"}
	t.Run("storefront flow", func(t *testing.T) { shop.t = t; shop.storefront() })
	if t.Failed() {
		return
	}
	t.Run("canary rollout without failed requests", func(t *testing.T) { c.checkCanaryRollout(t, gw, shop) })
	t.Run("crashing version is reverted", func(t *testing.T) { c.checkAutoRevert(t) })
	t.Run("moved dependency is picked up", func(t *testing.T) { c.checkMovedDependency(t) })
	t.Run("every allocation stopped: fast 503, then recovery", func(t *testing.T) { c.checkStopAll(t, gw, shop) })
	if c.tl.prometheus == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("OC_PROMETHEUS_BIN is not set (scripts/deploy-tools.sh path prometheus)")
		}
		t.Log("OC_PROMETHEUS_BIN not set: Prometheus discovery not checked")
		return
	}
	t.Run("prometheus discovers and scrapes every target through consul with ACLs on", c.checkPrometheus)
	// Last: it takes the gateway down for a while.
	t.Run("a dependency missing from consul fails loudly", c.checkMissingDependency)
}

func newCluster(t *testing.T) *cluster {
	root, err := deploytest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	// Short paths: containerd's sockets live under dockerd's exec root.
	dir, err := os.MkdirTemp("", "ocd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// dockerd leaves its network namespace mounted under its exec root.
		unmountUnder(dir)
		if t.Failed() {
			t.Logf("logs kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &cluster{t: t, tl: findTools(t), root: root, dir: dir, id: "ocdeploy" + hex.EncodeToString(b)}
}

// unmountUnder unmounts every mount below dir, deepest first.
func unmountUnder(dir string) {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return
	}
	var ms []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			ms = append(ms, f[1])
		}
	}
	for i := len(ms) - 1; i >= 0; i-- {
		_ = syscall.Unmount(ms[i], syscall.MNT_DETACH)
	}
}

// startDocker runs a dockerd of the test's own (socket, data and exec
// roots), as the issue found it works on this kind of machine: overlay2,
// no bridge, no iptables; containers use host networking.
func (c *cluster) startDocker() {
	t := c.t
	sock := filepath.Join(c.dir, "docker.sock")
	c.docker = "unix://" + sock
	p := start(t, c.dir, "dockerd", nil, c.tl.dockerd,
		"--storage-driver=overlay2", "--bridge=none", "--iptables=false", "--ip6tables=false",
		"-H", c.docker, "--data-root", filepath.Join(c.dir, "docker"), "--exec-root", filepath.Join(c.dir, "x"),
		"--pidfile", filepath.Join(c.dir, "docker.pid"))
	eventually(t, 60*time.Second, "dockerd answers", func() (bool, string) {
		if p.exited() {
			t.Fatalf("dockerd exited:\n%s", p.tail())
		}
		out, err := run(context.Background(), c.dir, c.dockerEnv(), c.tl.docker, "info", "--format", "{{.ServerVersion}}")
		return err == nil, out
	})
	// Containers first, then the daemon (cleanups run last-in first-out).
	t.Cleanup(func() {
		out, _ := run(context.Background(), c.dir, c.dockerEnv(), c.tl.docker, "ps", "-aq")
		if ids := strings.Fields(out); len(ids) > 0 {
			_, _ = run(context.Background(), c.dir, c.dockerEnv(), c.tl.docker, append([]string{"rm", "-f"}, ids...)...)
		}
	})
}

func (c *cluster) dockerEnv() []string {
	return []string{"DOCKER_HOST=" + c.docker, "DOCKER_BUILDKIT=0"}
}

// buildImages builds the release image (Dockerfile.release, FROM scratch
// over bin/opencommerce-static) and a crashing variant for the revert test.
func (c *cluster) buildImages() {
	t := c.t
	bin := os.Getenv("OC_DEPLOY_BINARY")
	if bin == "" {
		bin = filepath.Join(c.root, "bin", "opencommerce-static")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the static binary %s: %v (make test-deploy builds it)", bin, err)
	}
	c.image = "opencommerce:" + c.id
	mustRun(t, c.root, c.dockerEnv(), c.tl.docker, "build", "-q", "-f", filepath.Join(c.root, "Dockerfile.release"),
		"-t", c.image, filepath.Dir(bin))
	crash := filepath.Join(c.dir, "crash")
	_ = os.MkdirAll(crash, 0o755)
	df := "FROM " + c.image + "\nENTRYPOINT [\"/opencommerce\", \"no-such-command\"]\n"
	if err := os.WriteFile(filepath.Join(crash, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, crash, c.dockerEnv(), c.tl.docker, "build", "-q", "-t", c.image+"-crash", crash)
}

// startConsul runs a dev agent with the repository's agent configuration,
// on the test's own ports.
func (c *cluster) startConsul() {
	t := c.t
	http := freePort(t)
	c.consul = fmt.Sprintf("http://127.0.0.1:%d", http)
	p := start(t, c.dir, "consul", nil, c.tl.consul, "agent", "-dev",
		"-config-file", filepath.Join(c.root, "consul/agent/dev.hcl"),
		"-node", "oc-deploy", "-bind", "127.0.0.1", "-client", "127.0.0.1",
		"-http-port", fmt.Sprint(http), "-dns-port", "-1", "-grpc-port", "-1",
		"-serf-lan-port", fmt.Sprint(freePort(t)), "-serf-wan-port", fmt.Sprint(freePort(t)),
		"-server-port", fmt.Sprint(freePort(t)), "-hcl", "ports { grpc_tls = -1 }")
	eventually(t, 60*time.Second, "consul has a leader", func() (bool, string) {
		if p.exited() {
			t.Fatalf("consul exited:\n%s", p.tail())
		}
		var leader string
		_, _, _, err := call("GET", c.consul+"/v1/status/leader", nil, &leader)
		return err == nil && leader != "", fmt.Sprint(err)
	})
}

// seed runs consul/seed.sh as an operator would, registers the machine's
// servers and mailpit in Consul, makes the test's vhost and sets each
// module's prefixes in KV.
func (c *cluster) seed() {
	t := c.t
	env := append(c.nomadEnv(), "PATH="+filepath.Dir(c.tl.consul)+":"+os.Getenv("PATH"))
	mustRun(t, c.root, env, "sh", "consul/seed.sh")

	smtp, ui := freePort(t), freePort(t)
	mp := start(t, c.dir, "mailpit", nil, c.tl.mailpit, "--smtp", fmt.Sprintf("127.0.0.1:%d", smtp),
		"--listen", fmt.Sprintf("127.0.0.1:%d", ui))
	_ = mp
	servers := map[string]int{"postgres": 5432, "rabbitmq": 5672, "redis": 6379, "nats": 4222, "mailpit-smtp": smtp}
	for name, port := range servers {
		c.registerServer(name, port)
	}

	// RabbitMQ: a vhost of the test's own.
	vhost := c.id
	mgmt := "http://guest:guest@127.0.0.1:15672/api"
	if st, b, _, err := call("PUT", mgmt+"/vhosts/"+vhost, map[string]any{}, nil); err != nil || st >= 300 {
		t.Fatalf("create vhost: %d %s %v", st, b, err)
	}
	t.Cleanup(func() { _, _, _, _ = call("DELETE", mgmt+"/vhosts/"+vhost, nil, nil) })
	perm := map[string]string{"configure": ".*", "write": ".*", "read": ".*"}
	if st, b, _, err := call("PUT", mgmt+"/permissions/"+vhost+"/guest", perm, nil); err != nil || st >= 300 {
		t.Fatalf("vhost permissions: %d %s %v", st, b, err)
	}

	for _, m := range jobs {
		kv := map[string]string{
			"amqp_vhost":                       vhost,
			"env/OC_PG_DATABASE_PREFIX":        c.id + "_",
			"env/OC_REDIS_PREFIX":              c.id + ":",
			"env/OC_NATS_PREFIX":               c.id,
			"env/OC_LOG_LEVEL":                 "info",
			"env/OC_SHUTDOWN_DELAY":            "2s",
			"env/OC_CONSUL_MIN_QUERY_INTERVAL": "200ms",
		}
		if m == "user" {
			kv["env/OC_USER_BOOTSTRAP_ADMIN_EMAIL"] = adminEmail
			kv["env/OC_USER_BOOTSTRAP_ADMIN_PASSWORD"] = adminPassword
		}
		for k, v := range kv {
			c.kvPut("opencommerce/"+m+"/"+k, v)
		}
	}
	// The file data port's shared secret, as nomad/README.md says to set it.
	c.kvPut("opencommerce/file/internal_token", c.id+"-file-token")
	c.kvPut("opencommerce/gateway/file_internal_token", c.id+"-file-token")
	t.Cleanup(c.dropData)
}

func (c *cluster) registerServer(name string, port int) {
	reg := map[string]any{"ID": name, "Name": name, "Address": "127.0.0.1", "Port": port,
		"Check": map[string]any{"TCP": fmt.Sprintf("127.0.0.1:%d", port), "Interval": "2s"}}
	if st, b, _, err := call("PUT", c.consul+"/v1/agent/service/register", reg, nil); err != nil || st >= 300 {
		c.t.Fatalf("register %s: %d %s %v", name, st, b, err)
	}
}

func (c *cluster) kvPut(key, value string) {
	if st, b, _, err := call("PUT", c.consul+"/v1/kv/"+key, []byte(value), nil); err != nil || st >= 300 {
		c.t.Fatalf("kv put %s: %d %s %v", key, st, b, err)
	}
}

// dropData removes the test's databases (the vhost goes with its cleanup).
func (c *cluster) dropData() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := run(ctx, c.dir, nil, "psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc",
		"SELECT datname FROM pg_database WHERE datname LIKE '"+c.id+"%'")
	if err != nil {
		c.t.Logf("list databases: %v %s", err, out)
		return
	}
	for _, db := range strings.Fields(out) {
		_, _ = run(ctx, c.dir, nil, "psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", `DROP DATABASE IF EXISTS "`+db+`" WITH (FORCE)`)
	}
	_, _ = run(ctx, c.dir, nil, "sh", "-c", "redis-cli --scan --pattern '"+c.id+":*' | xargs -r redis-cli del >/dev/null")
	// The JetStream streams of the test's NATS prefix (natsx: <prefix>_NOTIFY, <prefix>_EVENTS).
	if nc, err := nats.Connect("nats://127.0.0.1:4222", nats.Timeout(5*time.Second)); err == nil {
		if js, err := jetstream.New(nc); err == nil {
			for _, name := range []string{"_NOTIFY", "_EVENTS"} {
				_ = js.DeleteStream(ctx, c.id+name)
			}
		}
		nc.Close()
	}
}

// startNomad runs one agent as server and client, with the Docker driver on
// the test's dockerd, the file service's host volume made as the README
// says, and the test's Consul.
func (c *cluster) startNomad() {
	t := c.t
	httpPort := freePort(t)
	c.nomad = fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	files := filepath.Join(c.dir, "files")
	// README: the volume's folder belongs to the image's user (uid 10001).
	if err := os.MkdirAll(files, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(files, 10001, 10001); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`
data_dir  = %q
bind_addr = "127.0.0.1"
disable_update_check = true
log_level = "INFO"
ports {
  http = %d
  rpc  = %d
  serf = %d
}
advertise {
  http = "127.0.0.1"
  rpc  = "127.0.0.1"
  serf = "127.0.0.1"
}
server {
  enabled          = true
  bootstrap_expect = 1
}
client {
  enabled           = true
  network_interface = "lo"
  min_dynamic_port  = 21000
  max_dynamic_port  = 29000
  options = {
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean"
  }
  host_volume "opencommerce-files" {
    path = %q
  }
}
consul {
  address = %q
}
plugin "docker" {
  config {
    endpoint = %q
    gc {
      image = false
    }
  }
}
`, filepath.Join(c.dir, "nomad"), httpPort, freePort(t), freePort(t), files, strings.TrimPrefix(c.consul, "http://"), c.docker)
	cfgPath := filepath.Join(c.dir, "nomad.hcl")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, c.dir, "nomad", nil, c.tl.nomad, "agent", "-config", cfgPath)
	eventually(t, 2*time.Minute, "a nomad node with a healthy docker driver", func() (bool, string) {
		if p.exited() {
			t.Fatalf("nomad exited:\n%s", p.tail())
		}
		var nodes []struct {
			Status  string
			Drivers map[string]struct{ Healthy bool }
		}
		_, _, _, err := call("GET", c.nomad+"/v1/nodes", nil, &nodes)
		for _, n := range nodes {
			if n.Status == "ready" && n.Drivers["docker"].Healthy {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%v %+v", err, nodes)
	})
	// Stop the jobs before the agent goes (containers are removed by the
	// docker cleanup in any case).
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		for _, j := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = run(ctx, c.root, c.nomadEnv(), c.tl.nomad, "job", "stop", "-purge", j)
			}()
		}
		wg.Wait()
	})
	c.vars = []string{
		"-var", "image=" + c.image,
		"-var", "consul_addr=" + strings.TrimPrefix(c.consul, "http://"),
		"-var", "min_healthy_time=3s",
		"-var", "healthy_deadline=2m",
		"-var", "progress_deadline=3m",
		"-var", "restart_delay=2s",
	}
}

// jobCount is the count each job runs at in the test: two of the order
// service (the canary and stop-all checks use it), one of the rest.
func jobCount(j string) string {
	if j == "order" {
		return "2"
	}
	return "1"
}

// runJob submits a job file as written, with variables only.
func (c *cluster) runJob(j string, extra ...string) {
	args := append([]string{"job", "run", "-detach"}, c.vars...)
	args = append(args, "-var", "count="+jobCount(j))
	args = append(args, extra...)
	args = append(args, "nomad/"+j+".nomad.hcl")
	mustRun(c.t, c.root, c.nomadEnv(), c.tl.nomad, args...)
}

type deployment struct {
	ID                string
	JobVersion        uint64
	Status            string
	StatusDescription string
}

func (c *cluster) latestDeployment(j string) (deployment, error) {
	var d *deployment
	_, _, _, err := call("GET", c.nomad+"/v1/job/"+j+"/deployment", nil, &d)
	if d == nil {
		return deployment{}, fmt.Errorf("no deployment (%v)", err)
	}
	return *d, err
}

// awaitDeployment waits until the job's deployment for a version of at
// least minVersion ends successful, and returns it.
func (c *cluster) awaitDeployment(j string, minVersion uint64, within time.Duration) deployment {
	var d deployment
	eventually(c.t, within, "job "+j+" deployed", func() (bool, string) {
		var err error
		d, err = c.latestDeployment(j)
		if err == nil && d.Status == "failed" && d.JobVersion >= minVersion {
			c.t.Fatalf("job %s: deployment %s failed: %s\n%s", j, d.ID, d.StatusDescription, c.allocReport(j))
		}
		return err == nil && d.JobVersion >= minVersion && d.Status == "successful", fmt.Sprintf("%+v %v", d, err)
	})
	return d
}

type alloc struct {
	ID               string
	TaskGroup        string
	ClientStatus     string
	DesiredStatus    string
	JobVersion       uint64
	DeploymentStatus *struct{ Healthy *bool }
	TaskStates       map[string]struct {
		State    string
		Restarts int
		Events   []struct {
			Type, DisplayMessage string
			Time                 int64
		}
	}
}

func (c *cluster) allocs(j string) []alloc {
	var as []alloc
	if _, b, _, err := call("GET", c.nomad+"/v1/job/"+j+"/allocations", nil, &as); err != nil {
		c.t.Fatalf("allocations of %s: %v %s", j, err, b)
	}
	return as
}

// allocReport describes a job's allocations and their last task events.
func (c *cluster) allocReport(j string) string {
	var b strings.Builder
	for _, a := range c.allocs(j) {
		fmt.Fprintf(&b, "alloc %s v%d %s/%s\n", a.ID[:8], a.JobVersion, a.DesiredStatus, a.ClientStatus)
		for name, ts := range a.TaskStates {
			ev := ts.Events
			if len(ev) > 4 {
				ev = ev[len(ev)-4:]
			}
			for _, e := range ev {
				fmt.Fprintf(&b, "  %s: %s: %s\n", name, e.Type, e.DisplayMessage)
			}
			if out, err := run(context.Background(), c.root, c.nomadEnv(), c.tl.nomad, "alloc", "logs", "-stderr", "-tail", "-n", "15", a.ID, name); err == nil {
				fmt.Fprintf(&b, "  stderr: %s\n", out)
			}
		}
	}
	return b.String()
}

// checkServices: every running allocation is healthy, and every service
// each job owns is registered in Consul with all its checks passing.
func (c *cluster) checkServices(t *testing.T) {
	for _, j := range jobs {
		for _, a := range c.allocs(j) {
			if a.DesiredStatus != "run" {
				continue
			}
			if a.ClientStatus != "running" || a.DeploymentStatus == nil || a.DeploymentStatus.Healthy == nil || !*a.DeploymentStatus.Healthy {
				t.Errorf("job %s: allocation %s is %s and not healthy", j, a.ID[:8], a.ClientStatus)
			}
		}
	}
	for _, svc := range deploytest.Services {
		for _, name := range svc.Own {
			eventually(t, time.Minute, "service "+name+" passing", func() (bool, string) {
				entries := c.health(name, false)
				if len(entries) == 0 {
					return false, "not registered"
				}
				for _, e := range entries {
					for _, ch := range e.Checks {
						if ch.Status != "passing" {
							return false, ch.Name + " " + ch.Status
						}
					}
				}
				return true, ""
			})
		}
	}
}

type healthEntry struct {
	Service struct {
		Address string
		Port    int
	}
	Checks []struct{ Name, Status string }
}

func (c *cluster) health(name string, passing bool) []healthEntry {
	var es []healthEntry
	q := ""
	if passing {
		q = "?passing"
	}
	_, _, _, _ = call("GET", c.consul+"/v1/health/service/"+name+q, nil, &es)
	return es
}

// gatewayURL finds the gateway's public port in Consul, as a load balancer would.
func (c *cluster) gatewayURL() string {
	es := c.health("gateway-http", true)
	if len(es) == 0 {
		c.t.Fatal("no passing gateway-http instance in Consul")
	}
	return fmt.Sprintf("http://%s:%d", es[0].Service.Address, es[0].Service.Port)
}

// checkLiveConfig: maintenance set in KV answers 503 without a restart;
// the test then raises the rate limits (it signs in several accounts from
// one address) and the API serves again.
func (c *cluster) checkLiveConfig(t *testing.T, gw string) {
	cfg := func(maintenance bool) string {
		return fmt.Sprintf(`{"rate_limits":{"default":{"rate":500,"burst":1000},"login":{"rate":100,"burst":200},`+
			`"search":{"rate":500,"burst":1000},"checkout":{"rate":100,"burst":200},"upload":{"rate":50,"burst":100}},`+
			`"cors_origins":["http://localhost:8080"],"maintenance":%v}`, maintenance)
	}
	c.kvPut("opencommerce/gateway/config", cfg(true))
	eventually(t, 30*time.Second, "maintenance answers 503", func() (bool, string) {
		st, b, _, err := call("GET", gw+"/api/v1/categories", nil, nil)
		return st == http.StatusServiceUnavailable, fmt.Sprintf("%d %s %v", st, b, err)
	})
	c.kvPut("opencommerce/gateway/config", cfg(false))
	eventually(t, 30*time.Second, "the API serves again", func() (bool, string) {
		st, b, _, err := call("GET", gw+"/api/v1/categories", nil, nil)
		return st == http.StatusOK, fmt.Sprintf("%d %s %v", st, b, err)
	})
}

// checkCanaryRollout: a changed job rolls out through a canary while a
// client keeps calling the service; no request fails.
func (c *cluster) checkCanaryRollout(t *testing.T, gw string, s *shop) {
	before, _ := c.latestDeployment("order")
	var ok, failed atomic.Int64
	var firstFail atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			st, b, _, err := call("GET", s.base+"/cart", nil, nil, "Authorization", "Bearer "+s.buyer)
			if err != nil || st != http.StatusOK {
				failed.Add(1)
				firstFail.CompareAndSwap(nil, fmt.Sprintf("%d %s %v", st, b, err))
			} else {
				ok.Add(1)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	began := time.Now()
	c.runJob("order", "-var", "memory=300")
	d := c.awaitDeployment("order", before.JobVersion+1, 6*time.Minute)
	took := time.Since(began)
	close(stop)
	wg.Wait()
	t.Logf("MEASURED rollout of order (2 instances, 1 canary, min_healthy_time 3s): %v, %d requests, %d failed", took.Round(time.Second), ok.Load(), failed.Load())
	if failed.Load() > 0 {
		t.Errorf("%d of %d requests failed during the rollout; first: %v", failed.Load(), ok.Load()+failed.Load(), firstFail.Load())
	}
	if ok.Load() == 0 {
		t.Error("no request served during the rollout")
	}
	var job struct {
		Version    uint64
		TaskGroups []struct {
			Tasks []struct{ Resources struct{ MemoryMB int } }
		}
	}
	call("GET", c.nomad+"/v1/job/order", nil, &job)
	if job.Version != d.JobVersion || len(job.TaskGroups) == 0 || job.TaskGroups[0].Tasks[0].Resources.MemoryMB != 300 {
		t.Errorf("after the rollout the job is %+v, want version %d with 300 MB", job, d.JobVersion)
	}
}

// checkAutoRevert: a version whose task crashes fails its canary and
// auto_revert brings back the last stable version.
func (c *cluster) checkAutoRevert(t *testing.T) {
	before, _ := c.latestDeployment("order")
	began := time.Now()
	// A failed canary is replaced until progress_deadline; only then does
	// the deployment fail and revert (nomad/README.md): a short deadline
	// for this version.
	c.runJob("order", "-var", "memory=300", "-var", "image="+c.image+"-crash",
		"-var", "healthy_deadline=30s", "-var", "progress_deadline=45s")
	var reverted uint64
	eventually(t, 6*time.Minute, "the crashing deployment fails", func() (bool, string) {
		// The revert starts a new deployment at once: look at them all.
		var ds []deployment
		_, _, _, err := call("GET", c.nomad+"/v1/job/order/deployments", nil, &ds)
		for _, d := range ds {
			if d.JobVersion == before.JobVersion+1 && d.Status == "failed" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v %v", ds, err)
	})
	failedAfter := time.Since(began)
	eventually(t, 6*time.Minute, "the reverted version is deployed", func() (bool, string) {
		var job struct {
			Version    uint64
			Stable     bool
			TaskGroups []struct {
				Tasks []struct{ Config map[string]any }
			}
		}
		call("GET", c.nomad+"/v1/job/order", nil, &job)
		img := ""
		if len(job.TaskGroups) > 0 && len(job.TaskGroups[0].Tasks) > 0 {
			img = fmt.Sprint(job.TaskGroups[0].Tasks[0].Config["image"])
		}
		reverted = job.Version
		return job.Version > before.JobVersion+1 && img == c.image, fmt.Sprintf("version %d image %s", job.Version, img)
	})
	c.awaitDeployment("order", reverted, 6*time.Minute)
	t.Logf("MEASURED crashing canary (progress_deadline 45s): deployment failed after %v, reverted and healthy after %v",
		failedAfter.Round(time.Second), time.Since(began).Round(time.Second))
}

// checkMovedDependency: Redis moves (a proxy on a new port, re-registered
// in Consul); every job that uses Redis re-renders its template, restarts
// and connects to the new address.
func (c *cluster) checkMovedDependency(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Redis stays "moved" for the rest of the test (moving it back would
	// restart the tasks again under the next checks).
	c.t.Cleanup(func() { l.Close() })
	var conns atomic.Int64
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer in.Close()
				out, err := net.Dial("tcp", "127.0.0.1:6379")
				if err != nil {
					return
				}
				defer out.Close()
				go func() { _, _ = io.Copy(out, in) }()
				_, _ = io.Copy(in, out)
			}()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	began := time.Now()
	c.registerServer("redis", port)
	// Nomad does not let the API read secrets/deps.env: the proof is the
	// template's restart after the move, then the connections the proxy sees.
	for _, j := range []string{"user", "product", "order", "gateway"} {
		eventually(t, 3*time.Minute, j+" re-rendered its template and restarted", func() (bool, string) {
			for _, a := range c.allocs(j) {
				if a.DesiredStatus != "run" {
					continue
				}
				restarted := false
				for _, e := range a.TaskStates[j].Events {
					if e.Type == "Restart Signaled" && strings.Contains(e.DisplayMessage, "re-rendered") && time.Unix(0, e.Time).After(began) {
						restarted = true
					}
				}
				if !restarted || a.ClientStatus != "running" {
					return false, "alloc " + a.ID[:8] + " not restarted by its template"
				}
			}
			return true, ""
		})
	}
	eventually(t, time.Minute, "the tasks connect to the moved Redis", func() (bool, string) {
		return conns.Load() >= 4, fmt.Sprintf("%d connections", conns.Load())
	})
	for _, j := range []string{"user", "product", "order", "gateway"} {
		eventually(t, 2*time.Minute, j+" passing again", func() (bool, string) {
			es := c.health(j, true)
			return len(es) > 0, "no passing instance"
		})
	}
	t.Logf("MEASURED moved Redis picked up by all four jobs in %v", time.Since(began).Round(time.Second))
}

// checkMissingDependency: with NATS gone from Consul the gateway's template
// re-renders without it and the task refuses to start (-deps.explicit),
// naming NATS, instead of starting an embedded NATS on localhost; once NATS
// is registered again the gateway serves.
func (c *cluster) checkMissingDependency(t *testing.T) {
	began := time.Now()
	if st, b, _, err := call("PUT", c.consul+"/v1/agent/service/deregister/nats", nil, nil); err != nil || st >= 300 {
		t.Fatalf("deregister nats: %d %s %v", st, b, err)
	}
	eventually(t, 2*time.Minute, "the gateway refuses to start without NATS", func() (bool, string) {
		for _, a := range c.allocs("gateway") {
			if a.DesiredStatus != "run" && a.ClientStatus != "failed" {
				continue
			}
			_, b, _, _ := call("GET", c.nomad+"/v1/client/fs/logs/"+a.ID+"?task=gateway&type=stderr&plain=true&origin=end&offset=20000", nil, nil)
			if strings.Contains(string(b), "no address for nats") {
				return true, ""
			}
		}
		return false, "no refusal in the gateway's stderr"
	})
	c.registerServer("nats", 4222)
	eventually(t, 4*time.Minute, "the gateway serves again once NATS is back", func() (bool, string) {
		es := c.health("gateway-http", true)
		if len(es) == 0 {
			return false, "no passing gateway"
		}
		gw := fmt.Sprintf("http://%s:%d", es[0].Service.Address, es[0].Service.Port)
		st, b, _, err := call("GET", gw+"/api/v1/categories", nil, nil)
		return st == http.StatusOK, fmt.Sprintf("%d %.100s %v", st, b, err)
	})
	t.Logf("MEASURED NATS deregistered: the gateway refused to start, and served again %v after the loss", time.Since(began).Round(time.Second))
}

// checkStopAll: with every allocation of the order service stopped the
// gateway answers 503 with Retry-After at once (no hanging request), and
// serves again when the service is back.
func (c *cluster) checkStopAll(t *testing.T, gw string, s *shop) {
	began := time.Now()
	mustRun(t, c.root, c.nomadEnv(), c.tl.nomad, "job", "scale", "-detach", "order", "0")
	var got503 time.Duration
	eventually(t, 2*time.Minute, "503 with Retry-After", func() (bool, string) {
		t0 := time.Now()
		st, b, h, err := call("GET", s.base+"/cart", nil, nil, "Authorization", "Bearer "+s.buyer)
		if d := time.Since(t0); d > 5*time.Second {
			t.Errorf("a request took %v while the service was going away", d)
		}
		if st == http.StatusServiceUnavailable {
			if h.Get("Retry-After") == "" {
				t.Errorf("503 without Retry-After: %s", b)
			}
			if d := time.Since(t0); d > 2*time.Second {
				t.Errorf("the 503 took %v, want an answer at once", d)
			}
			got503 = time.Since(began)
			return true, ""
		}
		return false, fmt.Sprintf("%d %s %v", st, b, err)
	})
	// And it stays fast while nothing serves.
	for range 5 {
		t0 := time.Now()
		st, _, _, _ := call("GET", s.base+"/cart", nil, nil, "Authorization", "Bearer "+s.buyer)
		if st != http.StatusServiceUnavailable || time.Since(t0) > 2*time.Second {
			t.Errorf("with no instance: %d in %v, want 503 at once", st, time.Since(t0))
		}
	}
	back := time.Now()
	mustRun(t, c.root, c.nomadEnv(), c.tl.nomad, "job", "scale", "-detach", "order", "2")
	eventually(t, 3*time.Minute, "order serves again", func() (bool, string) {
		st, b, _, err := call("GET", s.base+"/cart", nil, nil, "Authorization", "Bearer "+s.buyer)
		return st == http.StatusOK, fmt.Sprintf("%d %s %v", st, b, err)
	})
	t.Logf("MEASURED stop every order allocation: 503 after %v (Nomad deregisters before shutdown_delay); scale back to serving in %v",
		got503.Round(time.Second), time.Since(back).Round(time.Second))
}

const (
	adminEmail    = "admin@deploy.example.com"
	adminPassword = "Deploy-Admin-Passw0rd!"
)

// shop is a client of the public API for the storefront flow.
type shop struct {
	t     *testing.T
	base  string
	buyer string // access token of the buyer
}

func (s *shop) must(want int, method, path, token string, body any, out any, headers ...string) {
	s.t.Helper()
	if token != "" {
		headers = append(headers, "Authorization", "Bearer "+token)
	}
	st, b, _, err := call(method, s.base+path, body, out, headers...)
	if err != nil || st != want {
		s.t.Fatalf("%s %s: %d %s %v (want %d)", method, path, st, b, err, want)
	}
}

func (s *shop) login(email, password string) string {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	s.must(http.StatusOK, "POST", "/auth/login", "", map[string]string{"email": email, "password": password}, &tok)
	return tok.AccessToken
}

func (s *shop) register(email, role string) string {
	const pw = "Corr3ct-Horse-Battery"
	s.must(http.StatusCreated, "POST", "/auth/register", "", map[string]string{"email": email, "password": pw, "name": "Deploy " + role, "role": role}, nil)
	return s.login(email, pw)
}

// storefront: register → product → cart → checkout → paid → SSE notification.
func (s *shop) storefront() {
	t := s.t
	var admin string
	eventually(t, time.Minute, "the bootstrap admin signs in", func() (bool, string) {
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		st, b, _, err := call("POST", s.base+"/auth/login", map[string]string{"email": adminEmail, "password": adminPassword}, &tok)
		admin = tok.AccessToken
		return st == http.StatusOK && admin != "", fmt.Sprintf("%d %s %v", st, b, err)
	})
	var cat struct{ ID string }
	s.must(http.StatusCreated, "POST", "/categories", admin, map[string]any{"name": "Deploy"}, &cat)
	seller := s.register("seller@deploy.example.com", "seller")
	var prod struct{ ID string }
	s.must(http.StatusCreated, "POST", "/products", seller, map[string]any{
		"name": "Deploy Mug", "description": "A mug that survived a deployment.", "category_id": cat.ID,
		"price": map[string]any{"amount": 1250, "currency": "USD"}, "stock": 100,
	}, &prod)
	s.buyer = s.register("buyer@deploy.example.com", "customer")

	// The SSE stream is open before the checkout.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/notifications/stream", nil)
	req.Header.Set("Authorization", "Bearer "+s.buyer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("open the notification stream: %v %v", resp, err)
	}
	defer resp.Body.Close()
	events := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "data:") {
				events <- line
			}
		}
		close(events)
	}()

	s.must(http.StatusOK, "PUT", "/cart/items/"+prod.ID, s.buyer, map[string]any{"quantity": 2}, nil)
	var order struct{ ID, Status string }
	s.must(http.StatusAccepted, "POST", "/orders", s.buyer, map[string]any{
		"address": map[string]any{"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH", "country": "gb"},
		"payment": map[string]any{"method": "card", "card_number": "4242424242424242", "exp_month": 12, "exp_year": time.Now().Year() + 3, "cvc": "123"},
	}, &order, "Idempotency-Key", "deploy-"+fmt.Sprint(time.Now().UnixNano()))
	eventually(t, 2*time.Minute, "the order is paid", func() (bool, string) {
		var o struct{ Status string }
		st, b, _, err := call("GET", s.base+"/orders/"+order.ID, nil, &o, "Authorization", "Bearer "+s.buyer)
		return st == http.StatusOK && o.Status == "paid", fmt.Sprintf("%d %s %v", st, b, err)
	})
	for {
		select {
		case line, ok := <-events:
			if !ok {
				t.Fatal("the notification stream closed before the order_paid notification")
			}
			var n struct{ Kind string }
			if json.Unmarshal([]byte(strings.TrimSpace(strings.TrimPrefix(line, "data:"))), &n) == nil && n.Kind == "order_paid" {
				return
			}
		case <-ctx.Done():
			t.Fatal("no order_paid notification on the SSE stream")
		}
	}
}
