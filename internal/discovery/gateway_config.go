package discovery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/opencommerce/opencommerce/contracts"
)

// Rate-limit classes of the gateway's routes. A route names one; the live
// config sets the limit of each.
const (
	ClassDefault  = "default"
	ClassLogin    = "login"
	ClassSearch   = "search"
	ClassCheckout = "checkout"
	ClassUpload   = "upload"
)

// RateClasses lists the known rate-limit classes.
var RateClasses = []string{ClassDefault, ClassLogin, ClassSearch, ClassCheckout, ClassUpload}

// Bounds a live config value must respect.
const (
	MaxRate        = 1e6
	MaxBurst       = 1_000_000
	MaxCORSOrigins = 100
)

// RateLimit is a GCRA limit: Rate requests per second sustained, Burst
// requests at once.
type RateLimit struct {
	Rate  float64 `json:"rate"`
	Burst int     `json:"burst"`
}

// GatewayConfig is the gateway's live config, kept as JSON under the KV key
// "opencommerce/gateway/config":
//
//	{"rate_limits":{"login":{"rate":0.2,"burst":5}},
//	 "cors_origins":["https://shop.example.com"],
//	 "maintenance":false}
//
// It holds overrides: every member is optional, and what is absent keeps
// the gateway's own (flag) setting. RateLimits has only the classes the
// value names; Limit falls back to DefaultRateLimit. CORSOrigins is nil
// when absent (keep the gateway's list) and non-nil, possibly empty, when
// given (replace it). Unknown members and unknown classes are refused (a
// typo must not pass silently). Values from ParseGatewayConfig are
// normalized (origins lower-case, deduplicated).
type GatewayConfig struct {
	// RateLimits per class (per user or client IP) that override the
	// gateway's defaults.
	RateLimits map[string]RateLimit `json:"rate_limits"`
	// CORSOrigins are the exact origins ("https://shop.example.com") allowed
	// to call the API from a browser; nil means "not set".
	CORSOrigins []string `json:"cors_origins"`
	// Maintenance makes the gateway answer 503 to API calls.
	Maintenance bool `json:"maintenance"`
}

// defaultLimits: generous for browsing, tight where abuse is costly
// (credential stuffing on login, card testing on checkout, disk on upload).
var defaultLimits = map[string]RateLimit{
	ClassDefault:  {Rate: 50, Burst: 100},
	ClassLogin:    {Rate: 0.2, Burst: 5},
	ClassSearch:   {Rate: 10, Burst: 20},
	ClassCheckout: {Rate: 1, Burst: 5},
	ClassUpload:   {Rate: 0.5, Burst: 5},
}

// DefaultRateLimit is the built-in limit of class (the default class's for
// an unknown one), used when the live config does not set it.
func DefaultRateLimit(class string) RateLimit {
	if l, ok := defaultLimits[class]; ok {
		return l
	}
	return defaultLimits[ClassDefault]
}

// Interval is the time one request costs (GCRA's emission interval T =
// 1/Rate): a limiter class of 1 request per Interval with Burst.
func (l RateLimit) Interval() time.Duration {
	if l.Rate <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / l.Rate)
}

// DefaultGatewayConfig returns the config in force while the key is absent
// (and in static mode): no overrides, not in maintenance.
func DefaultGatewayConfig() GatewayConfig { return GatewayConfig{} }

// ParseGatewayConfig decodes and validates a live config value. Errors are
// *contracts.Error (invalid_argument) naming the bad field in
// details.field.
func ParseGatewayConfig(b []byte) (GatewayConfig, error) {
	var g GatewayConfig
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return GatewayConfig{}, contracts.InvalidArgument("", "gateway config is not valid JSON of the expected shape: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return GatewayConfig{}, contracts.InvalidArgument("", "gateway config has data after the JSON object")
	}
	if err := g.normalize(); err != nil {
		return GatewayConfig{}, err
	}
	return g, nil
}

// Validate reports the first invalid field of g (as ParseGatewayConfig
// would) without changing g.
func (g GatewayConfig) Validate() error {
	c := GatewayConfig{RateLimits: g.RateLimits, CORSOrigins: slices.Clone(g.CORSOrigins), Maintenance: g.Maintenance}
	return c.normalize()
}

func (g *GatewayConfig) normalize() error {
	for _, class := range slices.Sorted(maps.Keys(g.RateLimits)) {
		l := g.RateLimits[class]
		field := "rate_limits." + class
		if !slices.Contains(RateClasses, class) {
			return contracts.InvalidArgument(field, "unknown rate-limit class %q (known: %s)", class, strings.Join(RateClasses, ", "))
		}
		if !(l.Rate > 0) || l.Rate > MaxRate || math.IsInf(l.Rate, 0) {
			return contracts.InvalidArgument(field+".rate", "%s rate must be > 0 and <= %g requests per second, got %g", class, float64(MaxRate), l.Rate)
		}
		if l.Burst < 1 || l.Burst > MaxBurst {
			return contracts.InvalidArgument(field+".burst", "%s burst must be between 1 and %d, got %d", class, MaxBurst, l.Burst)
		}
	}
	if len(g.CORSOrigins) > MaxCORSOrigins {
		return contracts.InvalidArgument("cors_origins", "at most %d CORS origins", MaxCORSOrigins)
	}
	if g.CORSOrigins == nil {
		return nil
	}
	out := make([]string, 0, len(g.CORSOrigins))
	for i, o := range g.CORSOrigins {
		n, err := normalizeOrigin(o)
		if err != nil {
			return contracts.InvalidArgument(fmt.Sprintf("cors_origins[%d]", i), "%v", err)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	g.CORSOrigins = out
	return nil
}

// normalizeOrigin checks that o is a browser origin: scheme://host[:port]
// with scheme http or https, nothing else; it returns it lower-cased.
func normalizeOrigin(o string) (string, error) {
	u, err := url.Parse(o)
	if err != nil {
		return "", fmt.Errorf("origin %q is not a URL", o)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("origin %q must start with http:// or https://", o)
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("origin %q has no host", o)
	}
	if u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#") {
		return "", fmt.Errorf("origin %q must be scheme://host[:port] with no path, query or fragment", o)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// Limit returns the limit in force for class: the override, else
// DefaultRateLimit(class). An unknown class is treated as ClassDefault.
func (g GatewayConfig) Limit(class string) RateLimit {
	if _, known := defaultLimits[class]; !known {
		class = ClassDefault
	}
	if l, ok := g.RateLimits[class]; ok {
		return l
	}
	return DefaultRateLimit(class)
}

// AllowsOrigin reports whether a browser's Origin header value is allowed.
// Origins are compared case-insensitively, as browsers serialize them in
// lower case.
func (g GatewayConfig) AllowsOrigin(origin string) bool {
	for _, o := range g.CORSOrigins {
		if strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// NewGatewayConfigWatcher watches the gateway's live config under key (use
// Config.ConfigKey). With a nil client (static mode) it always returns
// DefaultGatewayConfig.
func NewGatewayConfigWatcher(client *api.Client, key string, opt KVOptions[GatewayConfig]) *KVWatcher[GatewayConfig] {
	return NewKVWatcher(client, key, DefaultGatewayConfig(), ParseGatewayConfig, opt)
}
