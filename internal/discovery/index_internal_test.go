package discovery

import (
	"testing"
	"time"
)

// The rules of "Implementation Details" in Consul's blocking-query docs:
// an index that goes backwards resets to 0, restarting the loop with a
// plain read ("after the initial request (or a reset as above)"), and the
// index a response returns is used as at least 1 so the next query blocks.
func TestNextIndex(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		prev, got, want uint64
	}{
		{"first query", 0, 42, 42},
		{"advance", 42, 43, 43},
		{"unchanged (timeout)", 42, 42, 42},
		{"backwards resets to 0: the next query is a plain read", 42, 7, 0},
		{"backwards by one resets too", 43, 42, 0},
		{"backwards to 0 resets to 0", 42, 0, 0},
		{"zero from the first query or the read after a reset: block on 1", 0, 0, 1},
		{"the read after a reset: block on what it returned", 0, 7, 7},
	}
	for _, tc := range tests {
		if got := nextIndex(tc.prev, tc.got); got != tc.want {
			t.Errorf("%s: nextIndex(%d, %d) = %d, want %d", tc.name, tc.prev, tc.got, got, tc.want)
		}
	}
}

func TestBackoffCapped(t *testing.T) {
	t.Parallel()
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	for i := range 100 {
		d := b.next()
		if d <= 0 || d > time.Second {
			t.Fatalf("attempt %d: backoff %s outside (0, 1s]", i, d)
		}
	}
	b.reset()
	if d := b.next(); d > 100*time.Millisecond {
		t.Fatalf("after reset: %s, want at most the minimum", d)
	}
}
