package edge

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Config configures the gateway. Flags use the prefix "gateway.".
type Config struct {
	// Addr is the listen address of the public HTTP server.
	Addr string
	// MaxBody is the largest body of a JSON route (every route but the
	// upload); a route may set a smaller limit. Larger requests get 413 (and
	// the client really receives it: see lingerConn). Bodies are streamed
	// in, so a route never reads more than its own limit.
	MaxBody int
	// UploadMaxBody is the largest body of POST /files: the file service's
	// largest file limit plus multipart framing (file.max-document-size +
	// 64 KiB). It is the server's fasthttp MaxRequestBodySize; the upload is
	// streamed to the file service, never buffered whole.
	UploadMaxBody int
	// FileInternalToken is sent to the file service's data port
	// (its file.internal-token); empty sends none.
	FileInternalToken string
	// FileTimeout bounds a whole upload or download through the data port;
	// it is also the read timeout of an upload request and the write
	// timeout of a download (ReadTimeout and WriteTimeout are too short for
	// 20 MB over a slow link). FileDialTimeout bounds connecting to an
	// instance.
	FileTimeout     time.Duration
	FileDialTimeout time.Duration
	// DefaultRouteBody is the body limit of a route that names none.
	DefaultRouteBody int
	// ReadTimeout, WriteTimeout and IdleTimeout bound a connection's reads of
	// one request, writes of one response, and keep-alive idling.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	// RouteTimeout is the RPC deadline of a route that names none.
	RouteTimeout time.Duration
	// CORSOrigins are the browser origins allowed to call the API ("*" for
	// any); the live config (Consul KV) can replace them at run time.
	CORSOrigins StringList
	// TrustedProxies are the CIDRs of proxies whose X-Forwarded-For is
	// believed when finding the client IP.
	TrustedProxies StringList
	// HSTS is the Strict-Transport-Security value; empty sends none (set it
	// when TLS terminates in front of the gateway).
	HSTS string
	// CacheEntries bounds the catalogue cache; CacheTTL is the TTL of a
	// cached route that names none. CacheEntries 0 disables the cache.
	CacheEntries int
	CacheTTL     time.Duration
	// RateDefault, RateLogin, RateSearch, RateCheckout and RateUpload are
	// the default rate classes ("N/period[:burst]", e.g. "10/1m:5").
	RateDefault, RateLogin, RateSearch, RateCheckout, RateUpload string
	// RateRedisTimeout bounds one Redis round trip of the limiter;
	// RateCooldown is how long the limiter stays local after Redis failed.
	RateRedisTimeout time.Duration
	RateCooldown     time.Duration
	// RetryAfter is the Retry-After of a 503 (no healthy instance, maintenance).
	RetryAfter time.Duration
	// JWKSRefetch is the least time between two key set fetches caused by an
	// unknown key id; JWKSRefresh the period of the background refresh.
	JWKSRefetch time.Duration
	JWKSRefresh time.Duration
	// TokenLeeway tolerates clock skew on token expiry.
	TokenLeeway time.Duration
}

// StringList is a comma-separated flag value.
type StringList []string

// String implements flag.Value.
func (l *StringList) String() string { return strings.Join(*l, ",") }

// Set implements flag.Value.
func (l *StringList) Set(s string) error {
	*l = nil
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// Defaults returns a Config that works on a developer machine.
func Defaults() Config {
	return Config{
		Addr:             ":8080",
		MaxBody:          1 << 20,
		UploadMaxBody:    20<<20 + 64<<10,
		FileTimeout:      10 * time.Minute,
		FileDialTimeout:  3 * time.Second,
		DefaultRouteBody: 64 << 10,
		ReadTimeout:      10 * time.Second,
		WriteTimeout:     10 * time.Second,
		IdleTimeout:      60 * time.Second,
		RouteTimeout:     5 * time.Second,
		CacheEntries:     10_000,
		CacheTTL:         30 * time.Second,
		RateDefault:      "100/1s:200",
		RateLogin:        "10/1m:5",
		RateSearch:       "20/1s:40",
		RateCheckout:     "10/1m:5",
		RateUpload:       "30/1m:10",
		RateRedisTimeout: 50 * time.Millisecond,
		RateCooldown:     2 * time.Second,
		RetryAfter:       5 * time.Second,
		JWKSRefetch:      10 * time.Second,
		JWKSRefresh:      5 * time.Minute,
		TokenLeeway:      5 * time.Second,
	}
}

// RegisterFlags registers the gateway.* flags on fs with Defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	d := Defaults()
	fs.StringVar(&c.Addr, "gateway.addr", d.Addr, "public HTTP listen address of the gateway")
	fs.IntVar(&c.MaxBody, "gateway.max-body", d.MaxBody, "largest body of a JSON route, bytes (413 above; uploads: gateway.upload-max-body)")
	fs.IntVar(&c.UploadMaxBody, "gateway.upload-max-body", d.UploadMaxBody, "largest upload body (POST /files), bytes: the file service's largest limit + 64 KiB")
	fs.StringVar(&c.FileInternalToken, "gateway.file-internal-token", "", "shared secret sent to the file service's data port (its file.internal-token)")
	fs.DurationVar(&c.FileTimeout, "gateway.file-timeout", d.FileTimeout, "bound of one upload or download through the file service's data port")
	fs.DurationVar(&c.FileDialTimeout, "gateway.file-dial-timeout", d.FileDialTimeout, "time to connect to a file service instance")
	fs.IntVar(&c.DefaultRouteBody, "gateway.route-body", d.DefaultRouteBody, "body limit of a route that names none, bytes")
	fs.DurationVar(&c.ReadTimeout, "gateway.read-timeout", d.ReadTimeout, "time to read one request")
	fs.DurationVar(&c.WriteTimeout, "gateway.write-timeout", d.WriteTimeout, "time to write one response")
	fs.DurationVar(&c.IdleTimeout, "gateway.idle-timeout", d.IdleTimeout, "keep-alive idle time of a connection")
	fs.DurationVar(&c.RouteTimeout, "gateway.route-timeout", d.RouteTimeout, "RPC deadline of a route that names none")
	fs.Var(&c.CORSOrigins, "gateway.cors-origins", "comma-separated browser origins allowed to call the API (* for any)")
	fs.Var(&c.TrustedProxies, "gateway.trusted-proxies", "comma-separated CIDRs whose X-Forwarded-For is believed")
	fs.StringVar(&c.HSTS, "gateway.hsts", "", "Strict-Transport-Security header value (empty: none)")
	fs.IntVar(&c.CacheEntries, "gateway.cache-size", d.CacheEntries, "catalogue cache entries (0 disables)")
	fs.DurationVar(&c.CacheTTL, "gateway.cache-ttl", d.CacheTTL, "TTL of a cached route that names none")
	fs.StringVar(&c.RateDefault, "gateway.rate-default", d.RateDefault, "default rate class N/period[:burst]")
	fs.StringVar(&c.RateLogin, "gateway.rate-login", d.RateLogin, "login/register/refresh rate class")
	fs.StringVar(&c.RateSearch, "gateway.rate-search", d.RateSearch, "product search rate class")
	fs.StringVar(&c.RateCheckout, "gateway.rate-checkout", d.RateCheckout, "checkout rate class")
	fs.StringVar(&c.RateUpload, "gateway.rate-upload", d.RateUpload, "upload rate class")
	fs.DurationVar(&c.RateRedisTimeout, "gateway.rate-redis-timeout", d.RateRedisTimeout, "Redis round trip bound of the rate limiter")
	fs.DurationVar(&c.RateCooldown, "gateway.rate-cooldown", d.RateCooldown, "time the limiter stays local after a Redis failure")
	fs.DurationVar(&c.RetryAfter, "gateway.retry-after", d.RetryAfter, "Retry-After of 503 answers")
	fs.DurationVar(&c.JWKSRefetch, "gateway.jwks-refetch", d.JWKSRefetch, "least time between key set fetches on an unknown kid")
	fs.DurationVar(&c.JWKSRefresh, "gateway.jwks-refresh", d.JWKSRefresh, "background key set refresh period")
	fs.DurationVar(&c.TokenLeeway, "gateway.token-leeway", d.TokenLeeway, "clock skew tolerated on token expiry")
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if !hostPort(c.Addr) {
		errs = append(errs, fmt.Errorf("gateway.addr %q is not host:port", c.Addr))
	}
	if c.MaxBody <= 0 {
		errs = append(errs, errors.New("gateway.max-body must be positive"))
	}
	if c.UploadMaxBody <= 0 {
		errs = append(errs, errors.New("gateway.upload-max-body must be positive"))
	}
	if c.DefaultRouteBody <= 0 || c.DefaultRouteBody > c.MaxBody {
		errs = append(errs, errors.New("gateway.route-body must be in (0, gateway.max-body]"))
	}
	for name, d := range map[string]time.Duration{"read-timeout": c.ReadTimeout, "write-timeout": c.WriteTimeout,
		"idle-timeout": c.IdleTimeout, "route-timeout": c.RouteTimeout, "file-timeout": c.FileTimeout,
		"file-dial-timeout": c.FileDialTimeout} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("gateway.%s must be positive", name))
		}
	}
	if c.CacheEntries < 0 {
		errs = append(errs, errors.New("gateway.cache-size must not be negative"))
	}
	if _, err := parseProxies(c.TrustedProxies); err != nil {
		errs = append(errs, err)
	}
	for name, v := range map[string]string{"default": c.RateDefault, "login": c.RateLogin,
		"search": c.RateSearch, "checkout": c.RateCheckout, "upload": c.RateUpload} {
		if _, err := ParseRate(name, v); err != nil {
			errs = append(errs, fmt.Errorf("gateway.rate-%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func parseProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("gateway.trusted-proxies: %q: %w", s, err)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("gateway.trusted-proxies: %q: %w", s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// withDefaults fills zero fields so a Config built in code works.
func (c Config) withDefaults() Config {
	d := Defaults()
	if c.Addr == "" {
		c.Addr = d.Addr
	}
	if c.MaxBody <= 0 {
		c.MaxBody = d.MaxBody
	}
	if c.DefaultRouteBody <= 0 {
		c.DefaultRouteBody = min(d.DefaultRouteBody, c.MaxBody)
	}
	if c.UploadMaxBody <= 0 {
		c.UploadMaxBody = d.UploadMaxBody
	}
	if c.FileTimeout <= 0 {
		c.FileTimeout = d.FileTimeout
	}
	if c.FileDialTimeout <= 0 {
		c.FileDialTimeout = d.FileDialTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = d.ReadTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = d.IdleTimeout
	}
	if c.RouteTimeout <= 0 {
		c.RouteTimeout = d.RouteTimeout
	}
	if c.CacheTTL <= 0 {
		c.CacheTTL = d.CacheTTL
	}
	for _, p := range []struct {
		v *string
		d string
	}{{&c.RateDefault, d.RateDefault}, {&c.RateLogin, d.RateLogin},
		{&c.RateSearch, d.RateSearch}, {&c.RateCheckout, d.RateCheckout}, {&c.RateUpload, d.RateUpload}} {
		if *p.v == "" {
			*p.v = p.d
		}
	}
	if c.RateRedisTimeout <= 0 {
		c.RateRedisTimeout = d.RateRedisTimeout
	}
	if c.RateCooldown <= 0 {
		c.RateCooldown = d.RateCooldown
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = d.RetryAfter
	}
	if c.JWKSRefetch <= 0 {
		c.JWKSRefetch = d.JWKSRefetch
	}
	if c.JWKSRefresh <= 0 {
		c.JWKSRefresh = d.JWKSRefresh
	}
	return c
}

// hostPort reports whether addr parses as host:port.
func hostPort(addr string) bool { _, _, err := net.SplitHostPort(addr); return err == nil }
