package discovery_test

import (
	"flag"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/discovery"
)

func TestConfigFlagsAndValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		field string // "" = valid
	}{
		{name: "defaults are static mode", args: nil},
		{name: "consul host:port", args: []string{"-consul.addr=127.0.0.1:8500", "-consul.register"}},
		{name: "consul URL", args: []string{"-consul.addr=https://consul.example:8501"}},
		{name: "bad scheme", args: []string{"-consul.addr=ftp://x"}, field: "consul.addr"},
		{name: "register without consul", args: []string{"-consul.register"}, field: "consul.register"},
		{name: "deregister below consul minimum", args: []string{"-consul.deregister-after=30s"}, field: "consul.deregister-after"},
		{name: "wait above consul maximum", args: []string{"-consul.wait=11m"}, field: "consul.wait"},
		{name: "timeout above interval", args: []string{"-consul.check-interval=1s", "-consul.check-timeout=2s"}, field: "consul.check-timeout"},
		{name: "zero rate limit", args: []string{"-consul.min-query-interval=0s"}, field: "consul.min-query-interval"},
		{name: "config key with slash", args: []string{"-consul.config-key=/x"}, field: "consul.config-key"},
		{name: "file data url relative", args: []string{"-file.data-url=127.0.0.1:8090"}, field: "file.data-url"},
		{name: "service prefix", args: []string{"-consul.service-prefix=staging-"}},
		{name: "service prefix with a slash", args: []string{"-consul.service-prefix=a/b"}, field: "consul.service-prefix"},
		{name: "service prefix with a dot", args: []string{"-consul.service-prefix=a.b"}, field: "consul.service-prefix"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var c discovery.Config
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			c.RegisterFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			e, ok := err.(*contracts.Error)
			if !ok || e.Code != contracts.CodeInvalidArgument || e.Details["field"] != tc.field {
				t.Fatalf("Validate = %v, want invalid_argument on %s", err, tc.field)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c := discovery.Defaults()
	if !c.Static() || c.Register || c.ConfigKey != "opencommerce/gateway/config" ||
		c.FileDataURL != "http://127.0.0.1:8090" || c.DeregisterAfter < time.Minute {
		t.Fatalf("defaults %+v", c)
	}
	if cl, err := c.Client(); cl != nil || err != nil {
		t.Fatalf("static Client() = %v, %v; want nil, nil", cl, err)
	}
	c.Addr = "127.0.0.1:8500"
	if cl, err := c.Client(); cl == nil || err != nil {
		t.Fatalf("Client() = %v, %v", cl, err)
	}
}
