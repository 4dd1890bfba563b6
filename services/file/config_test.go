package file_test

import (
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/services/file"
)

// The data port trusts the identity headers it is sent, so by default it
// listens on loopback only and a reachable address needs a token.
func TestConfigDataPortDefaultsToLoopback(t *testing.T) {
	c := file.DefaultConfig()
	if c.DataAddr != "127.0.0.1:8090" {
		t.Fatalf("default data addr = %q, want 127.0.0.1:8090", c.DataAddr)
	}
	if c.InternalToken != "" {
		t.Fatalf("default token = %q, want empty", c.InternalToken)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("default config refused: %v", err)
	}
}

func TestConfigRefusesNonLoopbackDataPortWithoutToken(t *testing.T) {
	for _, addr := range []string{":8090", "0.0.0.0:8090", "[::]:8090", "10.0.0.7:8090", "file:8090", "nonsense"} {
		c := file.DefaultConfig()
		c.DataAddr = addr
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), "file.internal-token") {
			t.Errorf("data addr %q without token: err = %v, want a refusal naming file.internal-token", addr, err)
		}
		c.InternalToken = "secret"
		if addr != "nonsense" {
			if err := c.Validate(); err != nil {
				t.Errorf("data addr %q with token refused: %v", addr, err)
			}
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "127.0.0.5:8090", "[::1]:8090", "localhost:8090"} {
		c := file.DefaultConfig()
		c.DataAddr = addr
		if err := c.Validate(); err != nil {
			t.Errorf("loopback data addr %q without token refused: %v", addr, err)
		}
	}
}
