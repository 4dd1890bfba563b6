package deploytest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Service describes what the deployment files must say about one module of
// the opencommerce binary.
type Service struct {
	// Name is the module's -target, its Nomad job and group, and its main
	// Consul service (registered on the admin port, tagged "metrics").
	Name string
	// Ports are the named dynamic ports its Nomad group needs besides "admin".
	Ports []string
	// Own are the Consul service names it registers (write in its ACL policy).
	Own []string
	// Reads are the Consul services it looks up (read in its ACL policy).
	// The servers among them must be those platform.Servers derives from
	// the binary's module graph (TestNomadJobsGetTheServersTheirModulesUse).
	Reads []string
}

// Services lists every module that runs as its own Nomad job and compose
// service, with the Consul services each one owns and reads.
var Services = []Service{
	{Name: "gateway", Ports: []string{"http"}, Own: []string{"gateway", "gateway-http"},
		Reads: []string{"user", "product", "order", "notification", "file", "file-data", "rabbitmq", "redis", "nats"}},
	{Name: "user", Own: []string{"user"}, Reads: []string{"postgres", "rabbitmq", "redis"}},
	{Name: "product", Own: []string{"product"}, Reads: []string{"postgres", "rabbitmq", "redis"}},
	{Name: "order", Own: []string{"order"}, Reads: []string{"postgres", "rabbitmq", "redis"}},
	{Name: "notification", Own: []string{"notification"}, Reads: []string{"postgres", "rabbitmq", "nats", "mailpit-smtp"}},
	{Name: "file", Ports: []string{"data"}, Own: []string{"file", "file-data"}, Reads: []string{"postgres", "rabbitmq"}},
}

// Infrastructure lists the servers the development stack runs next to the
// modules (compose services and Nomad jobs under nomad/infra).
var Infrastructure = []string{"postgres", "rabbitmq", "redis", "nats", "prometheus", "grafana", "mailpit"}

// BriefMetrics are the metric names fixed by the common brief. Histograms
// also expose _bucket, _sum and _count series.
var BriefMetrics = []string{
	"oc_http_requests_total", "oc_http_request_duration_seconds", "oc_http_requests_in_flight",
	"oc_rpc_client_requests_total", "oc_rpc_client_duration_seconds", "oc_rpc_client_late_replies_total", "oc_rpc_client_in_flight",
	"oc_rpc_server_requests_total", "oc_rpc_server_duration_seconds", "oc_rpc_server_expired_total",
	"oc_bus_connected", "oc_bus_reconnects_total", "oc_bus_blocked", "oc_bus_returns_total",
	"oc_events_published_total", "oc_events_consumed_total", "oc_events_dead_lettered_total",
	"oc_outbox_pending", "oc_outbox_lag_seconds", "oc_inbox_duplicates_total",
	"oc_discovery_healthy_instances", "oc_cache_requests_total", "oc_ratelimit_rejected_total",
	"oc_orders_placed_total", "oc_orders_paid_total", "oc_orders_cancelled_total", "oc_revenue_minor_units_total",
	"oc_saga_step_duration_seconds", "oc_nats_slow_consumers_total", "oc_stream_clients", "oc_build_info",
}

// StandardMetrics are the series every scraped process has: Prometheus'
// own "up" and the process and Go collectors registered on each registry.
var StandardMetrics = []string{
	"up",
	"process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
	"process_open_fds", "process_max_fds", "process_start_time_seconds",
	"go_goroutines", "go_threads", "go_gc_duration_seconds", "go_memstats_heap_inuse_bytes",
	"go_memstats_alloc_bytes", "go_memstats_heap_alloc_bytes", "go_info",
}

// KnownMetrics returns a predicate that accepts the brief's metric names
// (with the histogram series), the standard ones and the given recorded
// names.
func KnownMetrics(recorded []string) func(string) bool {
	known := map[string]bool{}
	for _, m := range BriefMetrics {
		known[m] = true
		if strings.HasSuffix(m, "_seconds") {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				known[m+s] = true
			}
		}
	}
	for _, m := range StandardMetrics {
		known[m] = true
	}
	for _, m := range recorded {
		known[m] = true
	}
	return func(name string) bool { return known[name] }
}

// ServiceNames returns the names of Services in order.
func ServiceNames() []string {
	var out []string
	for _, s := range Services {
		out = append(out, s.Name)
	}
	return out
}

// RepoRoot returns the directory holding go.mod, searching upwards from the
// working directory (a test runs in its package's directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }
