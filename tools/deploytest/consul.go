package deploytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// RateClasses are the gateway's route classes that its live config must
// give a rate limit.
var RateClasses = []string{"default", "login", "search", "checkout", "upload"}

// CheckGatewayConfig validates the gateway's live config (the value of the
// Consul key opencommerce/gateway/config): no unknown fields, a rate limit
// for every class with a positive rate and an integer burst of at least 1
// and at least the rate, CORS origins of the form scheme://host[:port], and
// a boolean maintenance flag.
func CheckGatewayConfig(path string, src []byte) []string {
	var p problems
	var cfg struct {
		RateLimits map[string]*struct {
			Rate  *float64 `json:"rate"`
			Burst *float64 `json:"burst"`
		} `json:"rate_limits"`
		CORSOrigins *[]string `json:"cors_origins"`
		Maintenance *bool     `json:"maintenance"`
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return []string{fmt.Sprintf("%s: %v", path, err)}
	}
	if cfg.RateLimits == nil {
		p.add(path, "no rate_limits")
	}
	for _, c := range RateClasses {
		if _, ok := cfg.RateLimits[c]; !ok && cfg.RateLimits != nil {
			p.add(path, "rate_limits: no class %q", c)
		}
	}
	classes := make([]string, 0, len(cfg.RateLimits))
	for c := range cfg.RateLimits {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, c := range classes {
		l := cfg.RateLimits[c]
		where := path + ": rate_limits." + c
		if !slices.Contains(RateClasses, c) {
			p.add(where, "unknown class (known: %v)", RateClasses)
		}
		if l == nil {
			p.add(where, "null")
			continue
		}
		if l.Rate == nil || *l.Rate <= 0 || math.IsInf(*l.Rate, 0) {
			p.add(where, "rate must be a positive number of requests per second")
		}
		switch {
		case l.Burst == nil || *l.Burst < 1 || *l.Burst != math.Trunc(*l.Burst):
			p.add(where, "burst must be an integer of at least 1")
		case l.Rate != nil && *l.Burst < *l.Rate:
			p.add(where, "burst %v is below rate %v: a second's worth of requests could never pass", *l.Burst, *l.Rate)
		}
	}
	if cfg.CORSOrigins == nil {
		p.add(path, "no cors_origins (use [] for none)")
	} else {
		for _, o := range *cfg.CORSOrigins {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
				(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || strings.HasSuffix(o, "/") {
				p.add(path, "cors_origins: %q is not an origin (scheme://host[:port])", o)
			}
		}
	}
	if cfg.Maintenance == nil {
		p.add(path, "no maintenance flag")
	}
	return p.list
}

// CheckACLPolicy checks a Consul ACL policy (HCL rules) of one service for
// least privilege: write only on its own services, read on its own
// services and those it reads, read on its own KV prefix
// opencommerce/<name>/, read on nodes, and nothing else.
func CheckACLPolicy(path string, src []byte, svc Service) []string {
	f, err := parseHCL(path, src)
	if err != nil {
		return []string{err.Error()}
	}
	var p problems
	if len(f.body.Attributes) > 0 {
		for name := range f.body.Attributes {
			p.add(path, "attribute %q grants a whole resource (operator, keyring, acl, mesh...)", name)
		}
	}
	ownKey := "opencommerce/" + svc.Name + "/"
	wroteOwn := false
	for _, b := range f.body.Blocks {
		name := label(b)
		pol, _ := f.str(b.Body, "policy")
		where := fmt.Sprintf("%s: %s %q", path, b.Type, name)
		switch b.Type {
		case "service":
			switch {
			case contains(svc.Own, name):
				if pol != "write" && pol != "read" {
					p.add(where, "policy %q, want write or read", pol)
				}
				wroteOwn = wroteOwn || pol == "write"
			case contains(svc.Reads, name):
				if pol != "read" {
					p.add(where, "policy %q on a service %s only reads, want read", pol, svc.Name)
				}
			default:
				p.add(where, "names a service %s neither owns nor reads", svc.Name)
			}
		case "key", "key_prefix":
			if !strings.HasPrefix(name, ownKey) {
				p.add(where, "outside %s's own prefix %s", svc.Name, ownKey)
			}
			if pol != "read" {
				p.add(where, "policy %q, want read", pol)
			}
		case "node_prefix", "node":
			if pol != "read" {
				p.add(where, "policy %q, want read", pol)
			}
		default:
			p.add(where, "%s rules are not needed by a service", b.Type)
		}
		if extra := otherAttrs(b.Body, "policy"); len(extra) > 0 {
			p.add(where, "unexpected %v", extra)
		}
	}
	if !wroteOwn {
		p.add(path, "no write on its own service %q", svc.Name)
	}
	return p.list
}

func otherAttrs(b *hclsyntax.Body, allowed ...string) []string {
	var out []string
	for name := range b.Attributes {
		if !slices.Contains(allowed, name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// CheckReadOnlyPolicy checks that an ACL policy grants nothing but read.
func CheckReadOnlyPolicy(path string, src []byte) []string {
	f, err := parseHCL(path, src)
	if err != nil {
		return []string{err.Error()}
	}
	var p problems
	for name := range f.body.Attributes {
		p.add(path, "attribute %q grants a whole resource", name)
	}
	for _, b := range f.body.Blocks {
		if pol, _ := f.str(b.Body, "policy"); pol != "read" {
			p.add(fmt.Sprintf("%s: %s %q", path, b.Type, label(b)), "policy %q, want read", pol)
		}
	}
	return p.list
}

// CheckDiscoveryPolicy checks that Prometheus' ACL policy lets
// consul_sd_configs work: read on every service and node, and on the agent
// (Prometheus asks the agent for its datacenter first).
func CheckDiscoveryPolicy(path string, src []byte) []string {
	f, err := parseHCL(path, src)
	if err != nil {
		return []string{err.Error()}
	}
	var p problems
	for _, want := range []string{"service_prefix", "node_prefix", "agent_prefix"} {
		ok := false
		for _, b := range blocks(f.body, want) {
			if pol, _ := f.str(b.Body, "policy"); label(b) == "" && (pol == "read" || pol == "write") {
				ok = true
			}
		}
		if !ok {
			p.add(path, "no %s \"\" read (Consul discovery needs it)", want)
		}
	}
	return p.list
}

// CheckConfigEntry checks a Consul config entry file (HCL): it parses, has
// a Kind and a Name, and a service-defaults entry for name has protocol http.
func CheckConfigEntry(path string, src []byte, name string) []string {
	f, err := parseHCL(path, src)
	if err != nil {
		return []string{err.Error()}
	}
	var p problems
	kind, _ := f.str(f.body, "Kind")
	n, _ := f.str(f.body, "Name")
	if kind != "service-defaults" {
		p.add(path, "Kind %q, want service-defaults", kind)
	}
	if n != name {
		p.add(path, "Name %q, want %q", n, name)
	}
	if proto, _ := f.str(f.body, "Protocol"); proto != "http" {
		p.add(path, "Protocol %q, want http (the registered port is the admin port)", proto)
	}
	return p.list
}

// ValidJSON reports whether src is one valid JSON value.
func ValidJSON(src []byte) error {
	var v any
	dec := json.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}
