// Package telemetry holds what every component shares about metrics:
// registration that tolerates the all-in-one process (several modules on
// one registry, each registering the same collectors), and the collectors
// that more than one package feeds, defined once so their help and labels
// never disagree.
package telemetry

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c on reg and returns it, or returns the collector
// already registered under the same description (modules of one process
// share a registry). A nil reg leaves c unregistered. A clash with a
// different collector of the same name is a programming error and panics.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

// CacheRequests is oc_cache_requests_total{cache,result}: lookups of a named
// cache ("gateway", "product") by result ("hit", "miss", "error").
func CacheRequests(reg prometheus.Registerer) *prometheus.CounterVec {
	return Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oc_cache_requests_total",
		Help: "Cache lookups by cache and result (hit, miss, error).",
	}, []string{"cache", "result"}))
}
