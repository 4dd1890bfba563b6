package discovery

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencommerce/opencommerce/internal/telemetry"
)

// metrics are shared by every watcher on one registry: registering twice
// (two watchers, or a test that builds several) reuses the first collector.
type metrics struct {
	healthy   *prometheus.GaugeVec   // oc_discovery_healthy_instances{service}
	errors    *prometheus.CounterVec // oc_discovery_errors_total{watch}
	kvUpdates *prometheus.CounterVec // oc_discovery_kv_updates_total{key,result}
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		healthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "oc_discovery_healthy_instances",
			Help: "Healthy instances of a service as the last good discovery answer saw them.",
		}, []string{"service"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oc_discovery_errors_total",
			Help: "Failed discovery queries (Consul or broker); the last good answer is kept.",
		}, []string{"watch"}),
		kvUpdates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oc_discovery_kv_updates_total",
			Help: "Live-config values seen in Consul KV, by result (applied, refused, deleted).",
		}, []string{"key", "result"}),
	}
	if reg == nil {
		return m
	}
	m.healthy = telemetry.Register(reg, m.healthy)
	m.errors = telemetry.Register(reg, m.errors)
	m.kvUpdates = telemetry.Register(reg, m.kvUpdates)
	return m
}
