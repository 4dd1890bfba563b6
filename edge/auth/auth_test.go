package auth_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge/auth"
	"github.com/opencommerce/opencommerce/internal/token/tokentest"
)

// source is a fake user service answering user.jwks: its key set (Rotate
// adds a key, old ones stay published), a fetch counter, a failure switch
// and an optional gate holding fetches in flight.
type source struct {
	*tokentest.Keys
	mu   sync.Mutex
	hold chan struct{} // non-nil: fetches wait until it is closed

	fail    atomic.Bool
	fetches atomic.Int64
}

func newSource(t testing.TB) *source { return &source{Keys: tokentest.New(t)} }

func (s *source) fetch(ctx context.Context) ([]byte, error) {
	s.fetches.Add(1)
	s.mu.Lock()
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if s.fail.Load() {
		return nil, contracts.Errorf(contracts.CodeUnavailable, "user service down")
	}
	return s.JWKS(), nil
}

// sign returns a customer's token signed with the current key (real time:
// the fake clocks below start at time.Now and move by seconds).
func (s *source) sign(t testing.TB, sub string) string {
	return s.Sign(t, sub, contracts.RoleCustomer, time.Hour)
}

// clock is a fake clock, safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// newVerifier returns a Verifier over src on a fake clock, with the default
// backoff (1s after a failure, doubling up to 5s).
func newVerifier(src *source, refetch time.Duration) (*auth.Verifier, *clock) {
	v := auth.New(src.fetch, auth.Config{RefetchInterval: refetch}, nil)
	c := newClock()
	v.SetClock(c.now)
	return v, c
}

func wantCode(t *testing.T, what string, err error, code contracts.Code) {
	t.Helper()
	if got := contracts.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

// A token verified before the first key set load has finished (or before
// it started) must not spend the unknown-kid refetch budget: a key rotated
// in right after is accepted at once, with one refetch.
func TestFirstLoadDoesNotSpendRefetchBudget(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start bool // a Start-like Refresh is in flight when the token arrives
	}{{"token first", false}, {"token during the initial fetch", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			src := newSource(t)
			v, _ := newVerifier(src, time.Hour)
			tok := src.sign(t, "u1")

			var verr error
			if tc.start {
				hold := make(chan struct{})
				src.mu.Lock()
				src.hold = hold
				src.mu.Unlock()
				var wg sync.WaitGroup
				var rerr error
				wg.Go(func() { rerr = v.Refresh(ctx) })
				for src.fetches.Load() == 0 {
					time.Sleep(time.Millisecond)
				}
				wg.Go(func() { _, verr = v.Verify(ctx, tok) })
				time.Sleep(20 * time.Millisecond) // let Verify join the fetch (either way is correct)
				src.mu.Lock()
				src.hold = nil
				src.mu.Unlock()
				close(hold)
				wg.Wait()
				if rerr != nil {
					t.Fatal(rerr)
				}
			} else {
				_, verr = v.Verify(ctx, tok)
			}
			if verr != nil {
				t.Fatalf("first token: %v", verr)
			}
			if n := src.fetches.Load(); n != 1 {
				t.Fatalf("%d fetches for the first load, want 1", n)
			}

			src.Rotate(t)
			a, err := v.Verify(ctx, src.sign(t, "u2"))
			if err != nil || a.ID != "u2" {
				t.Fatalf("token with the rotated-in key: %v %v", a, err)
			}
			if n := src.fetches.Load(); n != 2 {
				t.Fatalf("%d fetches after the rotation, want 2", n)
			}
			// The old key is still accepted.
			if _, err := v.Verify(ctx, tok); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Unknown key ids cause at most one refetch per RefetchInterval, however
// many arrive, concurrently or not; they are refused as unauthenticated.
func TestUnknownKidRefetchIsBounded(t *testing.T) {
	ctx := context.Background()
	src := newSource(t)
	v, clk := newVerifier(src, 10*time.Second)
	if err := v.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	forger := newSource(t) // keys the user service never published
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Go(func() { _, errs[i] = v.Verify(ctx, forger.sign(t, "admin")) })
	}
	wg.Wait()
	for range 50 {
		_, err := v.Verify(ctx, forger.sign(t, "admin"))
		errs = append(errs, err)
	}
	for _, err := range errs {
		wantCode(t, "unknown kid", err, contracts.CodeUnauthenticated)
	}
	if n := src.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches for 100 unknown kids, want 2 (the load and one refetch)", n)
	}
	// The budget renews after RefetchInterval: one more refetch.
	clk.advance(10 * time.Second)
	for range 20 {
		_, err := v.Verify(ctx, forger.sign(t, "admin"))
		wantCode(t, "unknown kid", err, contracts.CodeUnauthenticated)
	}
	if n := src.fetches.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3", n)
	}
	// A tampered token naming a known key is refused without a fetch.
	good := src.sign(t, "u1")
	bad := good[:len(good)-4] + "AAAA"
	if bad == good {
		bad = good[:len(good)-4] + "BBBB"
	}
	_, err := v.Verify(ctx, bad)
	wantCode(t, "tampered", err, contracts.CodeUnauthenticated)
	if n := src.fetches.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3", n)
	}
}

// While no key set is cached and the source fails, callers (Verify and the
// JWKS endpoint) share one fetch and, after it failed, get CodeUnavailable
// without a fetch until the backoff (1s, 2s, 4s, 5s max) has passed; once
// the source is back, tokens verify after at most the backoff.
func TestFetchFailureBacksOff(t *testing.T) {
	ctx := context.Background()
	src := newSource(t)
	src.fail.Store(true)
	v, clk := newVerifier(src, 10*time.Second)
	tok := src.sign(t, "u1")

	unavailable := func(what string, n int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, 2*n)
		actors := make([]contracts.Actor, n)
		for i := range n {
			wg.Go(func() { actors[i], errs[i] = v.Verify(ctx, tok) })
			wg.Go(func() { _, errs[n+i] = v.JWKS(ctx) })
		}
		wg.Wait()
		for range n {
			_, err := v.Verify(ctx, tok)
			errs = append(errs, err)
			_, err = v.JWKS(ctx)
			errs = append(errs, err)
		}
		for _, err := range errs {
			wantCode(t, what, err, contracts.CodeUnavailable)
			var e *contracts.Error
			if !errors.As(err, &e) || e.Message != "signing keys unavailable, try again" {
				t.Fatalf("%s: %v", what, err)
			}
		}
		for _, a := range actors {
			if a != (contracts.Actor{}) {
				t.Fatalf("%s: actor %v returned with an error", what, a)
			}
		}
	}
	wantFetches := func(want int64) {
		t.Helper()
		if n := src.fetches.Load(); n != want {
			t.Fatalf("%d fetches, want %d", n, want)
		}
	}

	// Backoffs of 1s, 2s, 4s, then 5s (the maximum).
	for _, step := range []struct {
		advance time.Duration
		what    string
		n       int
		fetches int64
	}{
		{0, "source down", 40, 1},
		{999 * time.Millisecond, "within the first backoff", 20, 1},
		{time.Millisecond, "after the first backoff", 20, 2},
		{1999 * time.Millisecond, "within the second backoff", 20, 2},
		{time.Millisecond, "after the second backoff", 20, 3},
		{4 * time.Second, "after the third backoff", 5, 4},
		{4 * time.Second, "within the fourth backoff", 5, 4},
		{time.Second, "after the fourth backoff", 5, 5},
	} {
		clk.advance(step.advance)
		unavailable(step.what, step.n)
		wantFetches(step.fetches)
	}

	// The source recovers: tokens verify once the backoff has passed.
	src.fail.Store(false)
	clk.advance(5 * time.Second)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			a, err := v.Verify(ctx, tok)
			if err == nil && a.ID != "u1" {
				err = errors.New("wrong actor " + a.ID)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("after recovery: %v", err)
		}
	}
	if raw, err := v.JWKS(ctx); err != nil || len(raw) == 0 {
		t.Fatalf("jwks after recovery: %s %v", raw, err)
	}
	wantFetches(6)
}

// A refetch for an unknown key id that fails answers CodeUnavailable (the
// token may be valid), backs off like any failed fetch, and does not spend
// the refetch budget: once the source is back, the new key is accepted.
func TestFailedRefetchIsUnavailable(t *testing.T) {
	ctx := context.Background()
	src := newSource(t)
	v, clk := newVerifier(src, time.Hour)
	if _, err := v.Verify(ctx, src.sign(t, "u1")); err != nil {
		t.Fatal(err)
	}
	old := src.sign(t, "u3") // the old key, not yet verified
	src.Rotate(t)
	tok := src.sign(t, "u2")
	src.fail.Store(true)
	for range 20 {
		_, err := v.Verify(ctx, tok)
		wantCode(t, "refetch failing", err, contracts.CodeUnavailable)
	}
	if n := src.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	// The cached key set keeps working meanwhile.
	if a, err := v.Verify(ctx, old); err != nil || a.ID != "u3" {
		t.Fatalf("old key while the source fails: %v %v", a, err)
	}
	src.fail.Store(false)
	clk.advance(time.Second)
	if a, err := v.Verify(ctx, tok); err != nil || a.ID != "u2" {
		t.Fatalf("after recovery: %v %v", a, err)
	}
	if n := src.fetches.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3", n)
	}
}
