package discovery

import (
	"testing"
	"time"
)

func TestNextIndex(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		prev, got, want uint64
	}{
		{"first query", 0, 42, 42},
		{"advance", 42, 43, 43},
		{"unchanged (timeout)", 42, 42, 42},
		{"backwards restarts from 0", 42, 7, 0},
		{"backwards to 0 restarts from 0", 42, 0, 0},
		{"zero never used to block", 0, 0, 1},
		{"after restart", 0, 7, 7},
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
