package notify

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencommerce/opencommerce/internal/telemetry"
)

type metrics struct {
	created *prometheus.CounterVec
	emails  *prometheus.CounterVec
	pushed  prometheus.Counter
	swept   *prometheus.CounterVec

	unsubscribed *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		created: telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oc_notifications_created_total", Help: "Notifications written, by kind and channel (in_app, email).",
		}, []string{"kind", "channel"})),
		emails: telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oc_notification_emails_total", Help: "Email outcomes: sent, retry, failed (5xx), skipped (no address).",
		}, []string{"result"})),
		pushed: telemetry.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oc_notification_pushed_total", Help: "Notifications published to NATS JetStream.",
		})),
		swept: telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oc_notification_retention_deleted_total", Help: "Rows deleted by the retention sweep, by table (notifications, emails).",
		}, []string{"table"})),
		unsubscribed: telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oc_notification_unsubscribed_total", Help: "One-click unsubscribes from email, by notification kind.",
		}, []string{"kind"})),
	}
}
