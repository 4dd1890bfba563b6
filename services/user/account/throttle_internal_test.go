package account

import (
	"testing"
	"time"
)

// The wait of a slowed (account, IP) pair doubles with each failure past
// the free ones, up to the ceiling.
func TestPairDelayGrowsToTheCeiling(t *testing.T) {
	c := &Core{cfg: Config{LoginFreeFailures: 3, LoginDelay: time.Second, LoginMaxDelay: 10 * time.Second}}
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {2, 0},
		{3, time.Second}, {4, 2 * time.Second}, {5, 4 * time.Second}, {6, 8 * time.Second},
		{7, 10 * time.Second}, {1000, 10 * time.Second},
	} {
		if got := c.pairDelay(tc.failures); got != tc.want {
			t.Errorf("pairDelay(%d) = %v, want %v", tc.failures, got, tc.want)
		}
	}
}
