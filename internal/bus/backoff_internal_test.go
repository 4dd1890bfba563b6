package bus

import (
	"flag"
	"testing"
	"time"
)

// TestReconnectDelayStaysBetweenFloorAndCap: the supervision's delay
// before each reconnect attempt never exceeds the configured cap, however
// long the outage (so the connection is back within the cap of the broker
// coming back), and never drops below the floor (so a down broker is not
// hammered). The defaults, from the flags and from a Config built in code,
// keep the cap at a second or two.
func TestReconnectDelayStaysBetweenFloorAndCap(t *testing.T) {
	var flagged Config
	flagged.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))
	for _, tc := range []struct {
		name     string
		cfg      Config
		defaults bool // the cap is a default, which must stay low
	}{
		{"flag defaults", flagged.withDefaults(), true},
		{"code defaults", Config{}.withDefaults(), true},
		{"custom", Config{MinBackoff: 50 * time.Millisecond, MaxBackoff: 400 * time.Millisecond}.withDefaults(), false},
		{"floor above the default cap", Config{MinBackoff: 3 * time.Second}.withDefaults(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Conn{cfg: tc.cfg}
			if tc.defaults && c.cfg.MaxBackoff > 2*time.Second {
				t.Fatalf("reconnect cap %v: a broker back after an outage waits up to that long for the platform", c.cfg.MaxBackoff)
			}
			if c.cfg.MinBackoff <= 0 || c.cfg.MinBackoff > c.cfg.MaxBackoff {
				t.Fatalf("floor %v, cap %v", c.cfg.MinBackoff, c.cfg.MaxBackoff)
			}
			reachedCapRange := false
			for n := range 200 { // a long outage: attempt numbers far past the doubling
				for range 20 {
					d := c.backoff(n)
					if d < c.cfg.MinBackoff || d > c.cfg.MaxBackoff {
						t.Fatalf("attempt %d: delay %v outside [%v, %v]", n, d, c.cfg.MinBackoff, c.cfg.MaxBackoff)
					}
					if d > c.cfg.MaxBackoff/2 {
						reachedCapRange = true
					}
				}
			}
			if !reachedCapRange && c.cfg.MaxBackoff > c.cfg.MinBackoff {
				t.Fatal("the delay never grew towards the cap: the backoff does not back off")
			}
		})
	}
}
