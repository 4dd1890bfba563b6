package redisx

import (
	"testing"
	"time"
)

// TestBreakerStates walks the breaker on a fake clock: closed until
// failures in a row, open (nothing let through) for the cool-down, then a
// single probe whose failure reopens it and whose success closes it; a
// success or a neutral outcome in between resets nothing but the count.
func TestBreakerStates(t *testing.T) {
	now := time.Unix(1000, 0)
	b := newBreaker(3, time.Second)
	b.now = func() time.Time { return now }
	let := func(what string) bool {
		t.Helper()
		ok, probe := b.allow()
		if !ok {
			t.Fatalf("%s: refused", what)
		}
		return probe
	}
	refused := func(what string) {
		t.Helper()
		if ok, _ := b.allow(); ok {
			t.Fatalf("%s: let through while open", what)
		}
	}

	// Two failures, a success: the count starts over.
	for range 2 {
		b.done(let("closed"), failed)
	}
	b.done(let("closed"), succeeded)
	for range 2 {
		b.done(let("closed"), failed)
	}
	b.done(let("closed"), neutral) // the caller's deadline: not counted
	b.done(let("closed"), failed)  // third in a row
	refused("after 3 failures")

	now = now.Add(999 * time.Millisecond)
	refused("within the cool-down")
	now = now.Add(time.Millisecond)
	if !let("after the cool-down") {
		t.Fatal("the first command after the cool-down is not the probe")
	}
	refused("while the probe is in flight")
	b.done(true, failed)
	refused("after the probe failed")

	now = now.Add(time.Second)
	probe := let("second probe")
	b.done(probe, neutral) // its caller gave up: another may probe
	probe = let("third probe")
	b.done(probe, succeeded)
	for range 2 {
		if let("closed again") {
			t.Fatal("probe while closed")
		}
	}
}
