package discovery_test

import (
	"slices"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/discovery"
)

func TestParseGatewayConfig(t *testing.T) {
	t.Parallel()
	def := discovery.DefaultGatewayConfig()
	tests := []struct {
		name  string
		in    string
		field string // error details.field; "" with ok
		ok    bool
		check func(t *testing.T, g discovery.GatewayConfig)
	}{
		{name: "empty object is the defaults", in: `{}`, ok: true, check: func(t *testing.T, g discovery.GatewayConfig) {
			for _, c := range discovery.RateClasses {
				if g.Limit(c) != def.Limit(c) {
					t.Errorf("%s = %+v, want %+v", c, g.Limit(c), def.Limit(c))
				}
			}
		}},
		{name: "full value", in: `{"rate_limits":{"default":{"rate":100,"burst":200},"upload":{"rate":0.1,"burst":1}},"cors_origins":["https://a.example","http://localhost:3000","HTTPS://A.EXAMPLE"],"maintenance":true}`, ok: true,
			check: func(t *testing.T, g discovery.GatewayConfig) {
				if g.Limit("default") != (discovery.RateLimit{Rate: 100, Burst: 200}) || g.Limit("upload") != (discovery.RateLimit{Rate: 0.1, Burst: 1}) {
					t.Errorf("limits %+v", g.RateLimits)
				}
				if !slices.Equal(g.CORSOrigins, []string{"https://a.example", "http://localhost:3000"}) {
					t.Errorf("origins %v, want normalized and deduplicated", g.CORSOrigins)
				}
				if !g.Maintenance {
					t.Error("maintenance lost")
				}
				if g.Limit("no-such-class") != g.Limit("default") {
					t.Error("unknown class must get the default class's limit")
				}
			}},
		{name: "null members", in: `{"rate_limits":null,"cors_origins":null}`, ok: true},
		{name: "unknown class", in: `{"rate_limits":{"logn":{"rate":1,"burst":1}}}`, field: "rate_limits.logn"},
		{name: "zero rate", in: `{"rate_limits":{"login":{"rate":0,"burst":1}}}`, field: "rate_limits.login.rate"},
		{name: "negative rate", in: `{"rate_limits":{"login":{"rate":-1,"burst":1}}}`, field: "rate_limits.login.rate"},
		{name: "huge rate", in: `{"rate_limits":{"login":{"rate":1e300,"burst":1}}}`, field: "rate_limits.login.rate"},
		{name: "zero burst", in: `{"rate_limits":{"search":{"rate":1,"burst":0}}}`, field: "rate_limits.search.burst"},
		{name: "missing burst", in: `{"rate_limits":{"search":{"rate":1}}}`, field: "rate_limits.search.burst"},
		{name: "fractional burst", in: `{"rate_limits":{"search":{"rate":1,"burst":1.5}}}`},
		{name: "origin with path", in: `{"cors_origins":["https://a.example/app"]}`, field: "cors_origins[0]"},
		{name: "origin with trailing slash", in: `{"cors_origins":["https://a.example/"]}`, field: "cors_origins[0]"},
		{name: "origin wildcard", in: `{"cors_origins":["*"]}`, field: "cors_origins[0]"},
		{name: "origin other scheme", in: `{"cors_origins":["ftp://a.example"]}`, field: "cors_origins[0]"},
		{name: "origin without scheme", in: `{"cors_origins":["a.example"]}`, field: "cors_origins[0]"},
		{name: "origin with query", in: `{"cors_origins":["https://a.example?x=1"]}`, field: "cors_origins[0]"},
		{name: "origin with user", in: `{"cors_origins":["https://u@a.example"]}`, field: "cors_origins[0]"},
		{name: "second origin bad", in: `{"cors_origins":["https://a.example","https://"]}`, field: "cors_origins[1]"},
		{name: "unknown member", in: `{"maintenence":true}`},
		{name: "wrong type", in: `{"maintenance":"true"}`},
		{name: "trailing data", in: `{} {}`},
		{name: "not an object", in: `[]`},
		{name: "empty", in: ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g, err := discovery.ParseGatewayConfig([]byte(tc.in))
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if err := g.Validate(); err != nil {
					t.Errorf("parsed config does not validate: %v", err)
				}
				if tc.check != nil {
					tc.check(t, g)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted %s: %+v", tc.in, g)
			}
			e, ok := err.(*contracts.Error)
			if !ok || e.Code != contracts.CodeInvalidArgument {
				t.Fatalf("error %v (%T), want *contracts.Error invalid_argument", err, err)
			}
			if tc.field != "" && e.Details["field"] != tc.field {
				t.Errorf("details.field = %v, want %s (%v)", e.Details["field"], tc.field, err)
			}
		})
	}
}

func TestDefaultGatewayConfigIsACopy(t *testing.T) {
	t.Parallel()
	a := discovery.DefaultGatewayConfig()
	a.RateLimits[discovery.ClassLogin] = discovery.RateLimit{Rate: 999, Burst: 999}
	if discovery.DefaultGatewayConfig().Limit(discovery.ClassLogin).Rate == 999 {
		t.Fatal("changing a returned default changed the defaults")
	}
	if err := discovery.DefaultGatewayConfig().Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
}
