package pg

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// inboxDuplicates is process-wide because HandleOnce takes no registry;
// RegisterMetrics (and NewRelay) expose it on a registry.
var inboxDuplicates = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "oc_inbox_duplicates_total",
	Help: "Events a consumer received again after it had handled them (skipped by the inbox).",
}, []string{"service"})

// InboxDuplicates returns the counter of oc_inbox_duplicates_total for a
// consumer, for tests and dashboards built in code.
func InboxDuplicates(consumer string) prometheus.Counter {
	return inboxDuplicates.WithLabelValues(consumer)
}

// RegisterMetrics registers the package's process-wide metrics
// (oc_inbox_duplicates_total) on reg. Registering twice is harmless.
func RegisterMetrics(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	_, err := register(reg, inboxDuplicates)
	return err
}

// register registers c, or returns the collector already registered under
// the same descriptor so several relays (one per service in one process)
// can share a registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}
