package files

import (
	"context"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
)

// With every slot taken, a decode waits file.decode-wait and is refused
// unavailable with a retry_after; a freed slot is taken again.
func TestDecodeGateRefusesWhenBusy(t *testing.T) {
	g := newDecodeGate(1, 20*time.Millisecond)
	release, err := g.acquire(context.Background())
	if err != nil {
		t.Fatalf("first acquire: %v", err)
	}
	_, err = g.acquire(context.Background())
	e, ok := err.(*contracts.Error)
	if !ok || e.Code != contracts.CodeUnavailable || e.Details["retry_after"] != int64(1) {
		t.Fatalf("acquire with no free slot: %v, want unavailable with retry_after 1", err)
	}
	release()
	release2, err := g.acquire(context.Background())
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	release2()
	if st := g.stats(); st != (DecodeStats{InFlight: 0, Peak: 1, Decodes: 2, Busy: 1}) {
		t.Fatalf("stats = %+v", st)
	}
}

// A waiting decode whose request ends stops waiting.
func TestDecodeGateWaitEndsWithTheRequest(t *testing.T) {
	g := newDecodeGate(1, time.Hour)
	release, _ := g.acquire(context.Background())
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.acquire(ctx); err != context.Canceled {
		t.Fatalf("acquire on an ended request: %v", err)
	}
}

// The upload rate is a bucket per user refilled continuously: after the
// burst, one more upload every 60/rate seconds; users do not share.
func TestUploadRateRefills(t *testing.T) {
	r := newUploadRate(6) // one every 10 s
	now := time.Unix(1_000_000, 0)
	r.now = func() time.Time { return now }
	for i := range 6 {
		if ok, _ := r.allow("a"); !ok {
			t.Fatalf("upload %d of the burst refused", i+1)
		}
	}
	ok, wait := r.allow("a")
	if ok || wait <= 9*time.Second || wait > 10*time.Second {
		t.Fatalf("7th upload: ok=%v wait=%v, want refused for 10s", ok, wait)
	}
	if ok, _ := r.allow("b"); !ok {
		t.Fatal("another user refused")
	}
	now = now.Add(10 * time.Second)
	if ok, _ := r.allow("a"); !ok {
		t.Fatal("refused after a token came back")
	}
	if ok, _ := r.allow("a"); ok {
		t.Fatal("two uploads allowed for one token")
	}
	// A minute later every bucket is full again and swept from memory.
	now = now.Add(2 * time.Minute)
	if ok, _ := r.allow("c"); !ok {
		t.Fatal("new user refused")
	}
	if len(r.buckets) != 1 {
		t.Fatalf("buckets after a quiet minute: %d, want only the new user's", len(r.buckets))
	}
}
