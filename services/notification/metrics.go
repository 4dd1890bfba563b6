package notification

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	created  *prometheus.CounterVec
	emails   *prometheus.CounterVec
	pushed   prometheus.Counter
	mirrored prometheus.Counter
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
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
	}
	return c
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		created: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oc_notifications_created_total", Help: "Notifications written, by kind and channel (in_app, email).",
		}, []string{"kind", "channel"})),
		emails: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oc_notification_emails_total", Help: "Email outcomes: sent, retry, failed (5xx), skipped (no address).",
		}, []string{"result"})),
		pushed: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oc_notification_pushed_total", Help: "Notifications published to NATS JetStream.",
		})),
		mirrored: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oc_events_mirrored_total", Help: "Events mirrored from RabbitMQ to NATS JetStream.",
		})),
	}
}
