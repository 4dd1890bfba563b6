package testenv

import (
	"testing"
	"time"
)

// Wait is how long Eventually waits for a condition: generous, because a
// test fails only when the condition never holds, and a loaded CI machine
// may be slow; it is never a speed assertion.
const Wait = 30 * time.Second

// Eventually polls cond until it holds and fails the test (t.Fatalf, so
// call it from the test's goroutine) when it has not held within Wait,
// naming what was awaited. The poll interval starts at a few milliseconds
// and grows to 100ms, so a condition that holds soon is seen soon.
func Eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	EventuallyWithin(tb, Wait, what, cond)
}

// EventuallyWithin is Eventually with its own limit, for conditions whose
// deadline is part of what the test states (a lease that must expire, a
// retry schedule).
func EventuallyWithin(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	if !Poll(within, cond) {
		tb.Fatalf("not within %v: %s", within, what)
	}
}

// Poll polls cond until it holds or within elapses and reports whether it
// held, for callers that decide themselves what a timeout means.
func Poll(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	pause := 2 * time.Millisecond
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
		if pause < 100*time.Millisecond {
			pause *= 2
		}
	}
}
