package order

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
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
		placed: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oc_orders_placed_total", Help: "Orders placed (checkout committed).",
		})),
		paid: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oc_orders_paid_total", Help: "Orders paid.",
		})),
		cancelled: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oc_orders_cancelled_total", Help: "Orders cancelled, by reason.",
		}, []string{"reason"})),
		revenue: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oc_revenue_minor_units_total", Help: "Money charged for paid orders, in minor units.",
		}, []string{"currency"})),
		step: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "oc_saga_step_duration_seconds",
			Help:    "Duration of the steps of the order saga.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"step"})),
	}
}

// register registers c with reg (nil: not at all), reusing an identical
// collector already registered (two instances in one process).
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
		panic(err)
	}
	return c
}
