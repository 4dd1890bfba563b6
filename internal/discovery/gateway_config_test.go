package discovery_test

import (
	"slices"
	"testing"
	"time"

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
				if g.Limit(c) != def.Limit(c) || g.Limit(c) != discovery.DefaultRateLimit(c) {
					t.Errorf("%s = %+v, want %+v", c, g.Limit(c), def.Limit(c))
				}
			}
			if g.RateLimits != nil || g.CORSOrigins != nil {
				t.Errorf("overrides %+v from an empty value", g)
			}
		}},
		{name: "only named classes are overridden", in: `{"rate_limits":{"login":{"rate":4,"burst":2}},"cors_origins":[]}`, ok: true, check: func(t *testing.T, g discovery.GatewayConfig) {
			if len(g.RateLimits) != 1 || g.Limit("login") != (discovery.RateLimit{Rate: 4, Burst: 2}) {
				t.Errorf("rate limits %+v, want login only", g.RateLimits)
			}
			if g.Limit("search") != discovery.DefaultRateLimit("search") {
				t.Errorf("search %+v, want the default", g.Limit("search"))
			}
			if g.CORSOrigins == nil || len(g.CORSOrigins) != 0 {
				t.Errorf("explicit empty origins became %#v; want a non-nil empty list (replace with none)", g.CORSOrigins)
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

func TestDefaultRateLimits(t *testing.T) {
	t.Parallel()
	for _, c := range discovery.RateClasses {
		l := discovery.DefaultRateLimit(c)
		if l.Rate <= 0 || l.Burst < 1 {
			t.Errorf("class %s has no usable default: %+v", c, l)
		}
	}
	if discovery.DefaultRateLimit("nope") != discovery.DefaultRateLimit(discovery.ClassDefault) {
		t.Error("unknown class must get the default class's limit")
	}
	if got := (discovery.RateLimit{Rate: 0.2, Burst: 5}).Interval(); got != 5*time.Second {
		t.Errorf("Interval of 0.2/s = %s, want 5s", got)
	}
	if err := discovery.DefaultGatewayConfig().Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	bad := discovery.GatewayConfig{RateLimits: map[string]discovery.RateLimit{"login": {Rate: 1}}}
	if bad.Validate() == nil {
		t.Error("Validate accepted burst 0")
	}
}
