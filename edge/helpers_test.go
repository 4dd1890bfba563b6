package edge_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/token/tokentest"
)

// call is one RPC the fake saw.
type call struct {
	Service, Method string
	Env             contracts.Envelope
	Raw             []byte
	Opt             bus.CallOptions
}

// fakeRPC answers user.jwks from its key set and every other method with
// reply(method, envelope) (default: echo the envelope with status ok).
type fakeRPC struct {
	keys  *tokentest.Keys
	mu    sync.Mutex
	calls []call
	jwks  atomic.Int64
	reply func(ctx context.Context, c call) (bus.Reply, error)
}

func (f *fakeRPC) Call(ctx context.Context, service, method string, body []byte, opt bus.CallOptions) (bus.Reply, error) {
	if method == contracts.MethodUserJWKS {
		f.jwks.Add(1)
		return bus.Reply{Status: "ok", Body: f.keys.JWKS()}, nil
	}
	c := call{Service: service, Method: method, Raw: bytes.Clone(body), Opt: opt}
	if err := json.Unmarshal(body, &c.Env); err != nil {
		return bus.Reply{}, contracts.Errorf(contracts.CodeInternal, "gateway sent invalid JSON: %v: %s", err, body)
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	if f.reply != nil {
		return f.reply(ctx, c)
	}
	return bus.Reply{Status: "ok", Body: c.Raw}, nil
}

func (f *fakeRPC) last(t *testing.T) call {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		t.Fatal("no RPC reached the service")
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeRPC) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

var b64 = base64.RawURLEncoding

// forge builds a token with any header, signed by sign (nil: no signature).
func forge(header, claims map[string]any, sign func(input []byte) []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	sig := ""
	if sign != nil {
		sig = b64.EncodeToString(sign([]byte(input)))
	}
	return input + "." + sig
}

func hs256(key []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(in)
		return m.Sum(nil)
	}
}

type fakeDiscovery struct{ down sync.Map }

func (d *fakeDiscovery) HasHealthy(service string) bool {
	_, down := d.down.Load(service)
	return !down
}

// start runs a gateway on a free port and stops it at the end of the test.
func start(t testing.TB, cfg edge.Config, deps edge.Deps) (*edge.Gateway, string) {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	g, err := edge.New(cfg, deps)
	if err != nil {
		t.Fatalf("edge.New: %v", err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
	})
	return g, "http://" + g.Addr()
}

var client = &http.Client{Timeout: 10 * time.Second}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// errorCode returns the error code of a JSON error body, failing the test
// when the body is not one.
func (r response) errorCode(t testing.TB) contracts.Code {
	t.Helper()
	var eb contracts.ErrorBody
	if err := json.Unmarshal(r.Body, &eb); err != nil || eb.Error == nil || eb.Error.Code == "" || eb.Error.Message == "" {
		t.Fatalf("status %d: body is not a JSON error: %q", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type = %q", ct)
	}
	return eb.Error.Code
}

func do(t testing.TB, method, url, body string, hdr ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
