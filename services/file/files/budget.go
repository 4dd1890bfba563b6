package files

import (
	"context"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
)

// The decoding budget. Decoding is the one step of an upload whose cost
// does not follow the bytes sent: a 140 KB PNG can declare 6000×6000 pixels
// and take 144 MB of RGBA pixels and seconds of CPU to decode and scale. Three
// bounds keep uploads from starving the process:
//
//   - the pixel budget (Limits.MaxImagePixels, MaxImageSide), checked on
//     the header before any pixel is decoded (checkDimensions);
//   - the decode gate: at most Limits.DecodeConcurrency decodes at once; an
//     upload waits at most Limits.DecodeWait for a slot, then is refused
//     with unavailable (503) and a retry_after, so memory stays below
//     DecodeConcurrency × MaxImagePixels × 4 bytes (plus the thumbnails);
//   - the upload rate: at most Limits.UploadsPerMinute upload attempts per
//     user and minute in this process (AdmitUpload), refused with
//     resource_exhausted (429) and a retry_after. The gateway's upload rate
//     class limits uploads across instances; this bound protects one
//     instance even from a caller that reaches its data port directly.

// DecodeStats counts the decode gate's work since the Core was made.
type DecodeStats struct {
	// InFlight is the number of decodes running now; Peak the highest it
	// has been. Neither exceeds Limits.DecodeConcurrency.
	InFlight, Peak int64
	// Decodes counts decodes started; Busy the uploads refused because no
	// slot freed within Limits.DecodeWait.
	Decodes, Busy uint64
}

// decodeGate bounds concurrent image decodes. Safe for concurrent use.
type decodeGate struct {
	slots    chan struct{}
	wait     time.Duration
	inFlight atomic.Int64
	peak     atomic.Int64
	decodes  atomic.Uint64
	busy     atomic.Uint64
}

func newDecodeGate(n int, wait time.Duration) *decodeGate {
	if n <= 0 {
		n = max(1, runtime.GOMAXPROCS(0))
	}
	return &decodeGate{slots: make(chan struct{}, n), wait: wait}
}

// acquire takes a slot, waiting at most g.wait (and not past ctx); the
// caller calls release once the decode is done. No slot in time is
// unavailable with a retry_after of a second or more.
func (g *decodeGate) acquire(ctx context.Context) (release func(), err error) {
	select {
	case g.slots <- struct{}{}:
	default:
		t := time.NewTimer(g.wait)
		defer t.Stop()
		select {
		case g.slots <- struct{}{}:
		case <-t.C:
			g.busy.Add(1)
			secs := max(1, int64(math.Ceil(g.wait.Seconds())))
			return nil, contracts.Errorf(contracts.CodeUnavailable,
				"the server is busy decoding other images (%d at once); retry in %d seconds", cap(g.slots), secs).
				WithDetail("retry_after", secs)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	n := g.inFlight.Add(1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	g.decodes.Add(1)
	return func() {
		g.inFlight.Add(-1)
		<-g.slots
	}, nil
}

func (g *decodeGate) stats() DecodeStats {
	return DecodeStats{InFlight: g.inFlight.Load(), Peak: g.peak.Load(), Decodes: g.decodes.Load(), Busy: g.busy.Load()}
}

// uploadRate is a token bucket per user: Limits.UploadsPerMinute tokens at
// most, refilled continuously at that rate per minute. A user whose bucket
// is full has no entry, so the map holds only users who uploaded in the
// last minute. Safe for concurrent use.
type uploadRate struct {
	perMinute int
	now       func() time.Time

	mu      sync.Mutex
	buckets map[string]bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newUploadRate(perMinute int) *uploadRate {
	return &uploadRate{perMinute: perMinute, now: time.Now, buckets: map[string]bucket{}}
}

// allow takes a token of user's bucket, or reports how long until one is
// back.
func (r *uploadRate) allow(user string) (ok bool, retryAfter time.Duration) {
	if r.perMinute <= 0 {
		return true, 0
	}
	now := r.now()
	capacity, perSec := float64(r.perMinute), float64(r.perMinute)/60
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.swept) > time.Minute {
		r.sweep(now, capacity, perSec)
	}
	b, found := r.buckets[user]
	if !found {
		b = bucket{tokens: capacity, at: now}
	}
	b.tokens = min(capacity, b.tokens+now.Sub(b.at).Seconds()*perSec)
	b.at = now
	if b.tokens < 1 {
		r.buckets[user] = b
		return false, time.Duration((1 - b.tokens) / perSec * float64(time.Second))
	}
	b.tokens--
	r.buckets[user] = b
	return true, 0
}

// sweep drops the buckets that have refilled (the same as no entry).
func (r *uploadRate) sweep(now time.Time, capacity, perSec float64) {
	for u, b := range r.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*perSec >= capacity {
			delete(r.buckets, u)
		}
	}
	r.swept = now
}

// AdmitUpload counts an upload attempt of user against the per-user upload
// rate (Limits.UploadsPerMinute; 0 = no limit). Over the rate it is
// resource_exhausted with details.retry_after in seconds; call it before
// reading the body, so a refused upload costs nothing.
func (c *Core) AdmitUpload(user string) error {
	ok, wait := c.rate.allow(user)
	if ok {
		return nil
	}
	secs := max(1, int64(math.Ceil(wait.Seconds())))
	return contracts.Errorf(contracts.CodeResourceExhausted,
		"too many uploads: at most %d a minute; retry in %d seconds", c.limits.UploadsPerMinute, secs).
		WithDetail("retry_after", secs).WithDetail("limit", c.limits.UploadsPerMinute)
}

// DecodeStats reports the decode gate's counters (for metrics and tests).
func (c *Core) DecodeStats() DecodeStats { return c.decode.stats() }
