package file

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencommerce/opencommerce/internal/telemetry"
	"github.com/opencommerce/opencommerce/services/file/files"
)

type metrics struct {
	uploads       *prometheus.CounterVec
	uploadedBytes prometheus.Counter
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	swept         *prometheus.CounterVec
}

// newMetrics makes the service's metrics; decodes reads the decode gate's
// counters at scrape time (see files.DecodeStats).
func newMetrics(reg prometheus.Registerer, decodes func() files.DecodeStats) *metrics {
	m := &metrics{
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oc_file_uploads_total",
			Help: "Uploads by purpose and result (ok or the error code)."}, []string{"purpose", "result"}),
		uploadedBytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "oc_file_uploaded_bytes_total",
			Help: "Bytes of files stored by uploads."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oc_file_data_requests_total",
			Help: "Data port requests by route and HTTP status."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "oc_file_data_request_duration_seconds",
			Help: "Data port request duration (whole body transfer included).", Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)},
			[]string{"route"}),
		swept: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oc_file_swept_total",
			Help: "Orphan blobs and stale upload temporaries removed by the sweeper."}, []string{"kind"}),
	}
	if reg != nil {
		m.uploads = telemetry.Register(reg, m.uploads)
		m.uploadedBytes = telemetry.Register(reg, m.uploadedBytes)
		m.requests = telemetry.Register(reg, m.requests)
		m.duration = telemetry.Register(reg, m.duration)
		m.swept = telemetry.Register(reg, m.swept)
		telemetry.Register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "oc_file_image_decodes_in_flight",
			Help: "Image decodes running now (at most file.decode-concurrency)."},
			func() float64 { return float64(decodes().InFlight) }))
		telemetry.Register(reg, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "oc_file_image_decodes_in_flight_peak",
			Help: "Highest number of image decodes running at once since the service started."},
			func() float64 { return float64(decodes().Peak) }))
		telemetry.Register(reg, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "oc_file_image_decodes_total",
			Help: "Image decodes started (an image refused on its header is never decoded)."},
			func() float64 { return float64(decodes().Decodes) }))
		telemetry.Register(reg, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "oc_file_image_decode_busy_total",
			Help: "Uploads refused with 503 because no decode slot freed within file.decode-wait."},
			func() float64 { return float64(decodes().Busy) }))
	}
	return m
}
