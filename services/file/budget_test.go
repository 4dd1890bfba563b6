package file_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/services/file"
)

// metric is the value of the unlabelled gauge or counter name in the
// service's registry (0 when it was never set).
func (h *harness) metric(name string) float64 {
	h.t.Helper()
	mfs, err := h.deps.Metrics.(prometheus.Gatherer).Gather()
	if err != nil {
		h.t.Fatalf("gather metrics: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	h.t.Fatalf("metric %s is not registered", name)
	return 0
}

// errorOf decodes an error answer.
func (r reply) errorOf(t testing.TB) *contracts.Error {
	t.Helper()
	var e contracts.ErrorBody
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == nil {
		t.Fatalf("not an error body: %s", r.body)
	}
	return e.Error
}

// A small PNG whose header declares 6000×6000 pixels (36 Mpx: a 140 KB
// file can, and decoding it took seconds and 144 MB) is over the default
// 16 Mpx budget: refused with a message naming its dimensions and the
// limit, and not one pixel decoded.
func TestImageOverPixelBudgetRefusedBeforeDecoding(t *testing.T) {
	t.Parallel()
	h := start(t)
	u := user()
	r := h.upload(u, "product_image", "big.png", pngHeader(6000, 6000))
	if r.status != http.StatusBadRequest {
		t.Fatalf("6000×6000 PNG: %d %s, want 400", r.status, r.body)
	}
	e := r.errorOf(t)
	if e.Code != contracts.CodeInvalidArgument || !strings.Contains(e.Message, "6000×6000") || !strings.Contains(e.Message, "16000000") {
		t.Fatalf("6000×6000 PNG: %s %q, want invalid_argument naming 6000×6000 and the 16000000-pixel limit", e.Code, e.Message)
	}
	if n := h.metric("oc_file_image_decodes_total"); n != 0 {
		t.Fatalf("decodes after a refused header: %v, want 0", n)
	}
	h.nothingStored()

	// Within the budget an image is decoded (the counter counts).
	h.mustUpload(u, "product_image", "small.png", pngOf(t, 64, 48, 1))
	if n := h.metric("oc_file_image_decodes_total"); n != 1 {
		t.Fatalf("decodes after one image upload: %v, want 1", n)
	}
}

// Uploads beyond file.decode-concurrency wait for a slot: never more
// decodes run at once than the limit, and (with a wait long enough) every
// upload still succeeds.
func TestConcurrentDecodesStayWithinTheLimit(t *testing.T) {
	t.Parallel()
	h := start(t, func(c *file.Config) {
		c.DecodeConcurrency = 1
		c.DecodeWait = c.UploadTimeout
	})
	const n = 6
	data := make([][]byte, n)
	for i := range n {
		data[i] = pngOf(t, 600, 400, uint8(i)) // distinct: no dedup
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.mustUpload(user(), "product_image", "p.png", data[i])
		}()
	}
	wg.Wait()
	if d := h.metric("oc_file_image_decodes_total"); d != n {
		t.Fatalf("decodes: %v, want %d", d, n)
	}
	if peak := h.metric("oc_file_image_decodes_in_flight_peak"); peak != 1 {
		t.Fatalf("most decodes at once: %v, want 1 (file.decode-concurrency)", peak)
	}
	if now := h.metric("oc_file_image_decodes_in_flight"); now != 0 {
		t.Fatalf("decodes in flight after every upload answered: %v", now)
	}
}

// A user over file.uploads-per-minute gets 429 with Retry-After (and
// nothing is stored for the refused upload); another user still uploads.
func TestUploadRateIsPerUser(t *testing.T) {
	t.Parallel()
	h := start(t, func(c *file.Config) { c.UploadsPerMinute = 3 })
	eager, other := user(), user()
	for i := range 3 {
		h.mustUpload(eager, "document", "n.txt", textOf(100+i))
	}
	r := h.upload(eager, "document", "n.txt", textOf(200))
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("4th upload in a minute: %d %s, want 429", r.status, r.body)
	}
	if e := r.errorOf(t); e.Code != contracts.CodeResourceExhausted {
		t.Fatalf("4th upload: code %s, want resource_exhausted", e.Code)
	}
	// 3 a minute: a token is back within 20 s.
	if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs < 1 || secs > 20 {
		t.Fatalf("Retry-After = %q, want 1..20 seconds", r.header.Get("Retry-After"))
	}
	if got := h.count("files"); got != 3 {
		t.Fatalf("files after a refused upload: %d, want 3", got)
	}
	h.mustUpload(other, "document", "o.txt", textOf(300))
}
