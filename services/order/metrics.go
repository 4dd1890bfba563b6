package order

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencommerce/opencommerce/internal/telemetry"
)

// metrics are the order service's business metrics.
type metrics struct {
	placed    prometheus.Counter
	paid      prometheus.Counter
	cancelled *prometheus.CounterVec // reason
	revenue   *prometheus.CounterVec // currency
	step      *prometheus.HistogramVec
}

// Saga steps of oc_saga_step_duration_seconds.
const (
	stepCheckout    = "checkout"    // handling order.checkout
	stepReservation = "reservation" // order placed → inventory answered
	stepCharge      = "charge"      // one call to the payment provider
	stepPayment     = "payment"     // inventory reserved → paid or cancelled
)

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		placed: telemetry.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oc_orders_placed_total", Help: "Orders placed (checkout committed).",
		})),
		paid: telemetry.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oc_orders_paid_total", Help: "Orders paid.",
		})),
		cancelled: telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oc_orders_cancelled_total", Help: "Orders cancelled, by reason.",
		}, []string{"reason"})),
		revenue: telemetry.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oc_revenue_minor_units_total", Help: "Money charged for paid orders, in minor units.",
		}, []string{"currency"})),
		step: telemetry.Register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "oc_saga_step_duration_seconds",
			Help:    "Duration of the steps of the order saga.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"step"})),
	}
}
