package edge_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge"
	"github.com/opencommerce/opencommerce/internal/discovery"
	"github.com/opencommerce/opencommerce/internal/filedata"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/internal/token/tokentest"
)

const fileID = "0190c3a4-0000-7000-8000-0000000000f1"

// fakeFiles is a file service data port: /upload hashes what it receives
// (refusing more than limit bytes at once, like the real one), /files/{id}
// answers "hello world" with Range support.
type fakeFiles struct {
	limit   int64
	uploads atomic.Int64
	mu      sync.Mutex
	actors  []string
	token   string
}

func (f *fakeFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.actors = append(f.actors, r.Header.Get(filedata.HeaderActorID)+"/"+r.Header.Get(filedata.HeaderActorRole))
	f.token = r.Header.Get(filedata.HeaderInternalToken)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == "POST" && r.URL.Path == "/upload":
		if r.ContentLength > f.limit {
			w.WriteHeader(413)
			_, _ = io.WriteString(w, `{"error":{"code":"payload_too_large","message":"too large"}}`)
			return
		}
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			w.WriteHeader(400)
			return
		}
		f.uploads.Add(1)
		w.WriteHeader(201)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": fileID, "size": n, "sha256": hex.EncodeToString(h.Sum(nil)),
			"purpose": r.URL.Query().Get("purpose")})
	case strings.HasPrefix(r.URL.Path, "/files/"):
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Etag", `"abc"`)
		http.ServeContent(w, r, "f.txt", time.Time{}, strings.NewReader("hello world"))
	default:
		w.WriteHeader(404)
	}
}

func (f *fakeFiles) lastActor() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.actors) == 0 {
		return ""
	}
	return f.actors[len(f.actors)-1]
}

// picker hands out instances in turn.
type picker struct {
	mu    sync.Mutex
	insts []discovery.Instance
	n     int
}

func (p *picker) Pick(string) (discovery.Instance, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.insts) == 0 {
		return discovery.Instance{}, false
	}
	p.n++
	return p.insts[(p.n-1)%len(p.insts)], true
}

func fileSetup(t *testing.T, urls ...string) (string, *tokentest.Keys, *picker) {
	t.Helper()
	p := &picker{}
	for i, u := range urls {
		p.insts = append(p.insts, discovery.Instance{ID: fmt.Sprint("file-", i), Service: "file", DataURL: u})
	}
	_, base, _, k := setup(t, func(c *edge.Config, d *edge.Deps) {
		c.UploadMaxBody = 1 << 20
		c.FileInternalToken = "s3cret"
		d.Files = p
	})
	return base, k, p
}

func TestUploadStreamsToFileService(t *testing.T) {
	t.Parallel()
	ff := &fakeFiles{limit: 1 << 20}
	srv := httptest.NewServer(ff)
	defer srv.Close()
	base, k, _ := fileSetup(t, srv.URL)
	tok := k.Sign(t, "u1", contracts.RoleSeller, time.Hour)

	body := strings.Repeat("0123456789abcdef", 40<<10) // 640 KiB: far above a JSON route's limit
	sum := sha256.Sum256([]byte(body))
	r := do(t, "POST", base+"/api/v1/files?purpose=document", body, "Authorization", "Bearer "+tok,
		"Content-Type", "application/octet-stream", "X-OC-Actor-Id", "admin")
	if r.Status != 201 {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	var got struct {
		Size    int64
		SHA256  string
		Purpose string
	}
	_ = json.Unmarshal(r.Body, &got)
	if got.Size != int64(len(body)) || got.SHA256 != hex.EncodeToString(sum[:]) || got.Purpose != "document" {
		t.Fatalf("the file service received something else: %s", r.Body)
	}
	if a := ff.lastActor(); a != "u1/seller" || ff.token != "s3cret" {
		t.Fatalf("actor %q token %q", a, ff.token)
	}
	if r.Header.Get("X-Request-ID") == "" {
		t.Fatal("gateway headers lost")
	}

	// Signed out: 401 and nothing reaches the file service.
	before := ff.uploads.Load()
	if r := do(t, "POST", base+"/api/v1/files", "x"); r.Status != 401 {
		t.Fatalf("anonymous upload: %d", r.Status)
	}
	if ff.uploads.Load() != before {
		t.Fatal("anonymous upload reached the file service")
	}
}

// TestUploadTooLargeReallyReceived: a body over the gateway's upload limit
// (declared) and one the file service refuses early (chunked) both end in a
// 413 the client reads, though it keeps sending.
func TestUploadTooLargeReallyReceived(t *testing.T) {
	t.Parallel()
	ff := &fakeFiles{limit: 256 << 10}
	srv := httptest.NewServer(ff)
	defer srv.Close()
	base, k, _ := fileSetup(t, srv.URL)
	tok := k.Sign(t, "u1", contracts.RoleCustomer, time.Hour)
	addr := strings.TrimPrefix(base, "http://")
	for _, tc := range []struct {
		name string
		size int
		hdr  string
	}{
		{"over the gateway limit", 4 << 20, "Content-Length: %d\r\n"},
		{"over the file service limit", 900 << 10, "Content-Length: %d\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			_, _ = fmt.Fprintf(conn, "POST /api/v1/files?purpose=document HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
				"Content-Type: application/octet-stream\r\n"+tc.hdr+"\r\n", tok, tc.size)
			chunk := []byte(strings.Repeat("x", 32<<10))
			for sent := 0; sent < tc.size; sent += len(chunk) {
				if _, err := conn.Write(chunk); err != nil {
					t.Fatalf("the gateway reset the connection while the client was sending: %v", err)
				}
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("client did not receive the 413: %v", err)
			}
			defer resp.Body.Close()
			var eb contracts.ErrorBody
			if resp.StatusCode != 413 || json.NewDecoder(resp.Body).Decode(&eb) != nil || eb.Error.Code != contracts.CodePayloadTooLarge {
				t.Fatalf("%d %+v", resp.StatusCode, eb)
			}
		})
	}
	if n := ff.uploads.Load(); n != 0 {
		t.Fatalf("%d oversize uploads stored", n)
	}
}

func TestFileServiceAway(t *testing.T) {
	t.Parallel()
	base, k, p := fileSetup(t)
	tok := k.Sign(t, "u1", contracts.RoleCustomer, time.Hour)
	for _, r := range []response{
		do(t, "POST", base+"/api/v1/files", "abc", "Authorization", "Bearer "+tok),
		do(t, "GET", base+"/api/v1/files/"+fileID, ""),
	} {
		if r.Status != 503 || r.errorCode(t) != contracts.CodeUnavailable || r.Header.Get("Retry-After") == "" {
			t.Fatalf("no instance: %d %s %v", r.Status, r.Body, r.Header)
		}
	}
	// An instance that does not answer: the upload fails with 503 JSON.
	dead := "http://" + testenv.FreeAddr(t)
	p.mu.Lock()
	p.insts = []discovery.Instance{{ID: "dead", DataURL: dead}}
	p.mu.Unlock()
	r := do(t, "POST", base+"/api/v1/files", "abc", "Authorization", "Bearer "+tok)
	if r.Status != 503 || r.errorCode(t) != contracts.CodeUnavailable {
		t.Fatalf("dead instance: %d %s", r.Status, r.Body)
	}
}

func TestDownloadThroughGateway(t *testing.T) {
	t.Parallel()
	ff := &fakeFiles{limit: 1 << 20}
	srv := httptest.NewServer(ff)
	defer srv.Close()
	dead := "http://" + testenv.FreeAddr(t)
	base, k, _ := fileSetup(t, dead, srv.URL) // the first pick fails to connect: retried on the next
	tok := k.Sign(t, "u9", contracts.RoleCustomer, time.Hour)
	url := base + "/api/v1/files/" + fileID

	r := do(t, "GET", url, "")
	if r.Status != 200 || string(r.Body) != "hello world" || r.Header.Get("Etag") != `"abc"` || r.Header.Get("X-Request-ID") == "" {
		t.Fatalf("download: %d %q %v", r.Status, r.Body, r.Header)
	}
	if a := ff.lastActor(); a != "/" {
		t.Fatalf("anonymous download sent actor %q", a)
	}
	r = do(t, "GET", url, "", "Range", "bytes=6-10", "Authorization", "Bearer "+tok)
	if r.Status != 206 || string(r.Body) != "world" || r.Header.Get("Content-Range") != "bytes 6-10/11" {
		t.Fatalf("range: %d %q %v", r.Status, r.Body, r.Header)
	}
	if a := ff.lastActor(); a != "u9/customer" {
		t.Fatalf("signed-in download sent actor %q", a)
	}
	if r := do(t, "GET", url, "", "If-None-Match", `"abc"`); r.Status != 304 || len(r.Body) != 0 {
		t.Fatalf("304: %d %q", r.Status, r.Body)
	}
	if r := do(t, "HEAD", url+"/thumbnail", ""); r.Status != 200 || r.Header.Get("Content-Length") != "11" {
		t.Fatalf("HEAD: %d %v", r.Status, r.Header)
	}
	if r := do(t, "GET", base+"/api/v1/files/not-a-uuid", ""); r.Status != 404 || r.errorCode(t) != contracts.CodeNotFound {
		t.Fatalf("bad id: %d %s", r.Status, r.Body)
	}
	if r := do(t, "GET", url, "", "Authorization", "Bearer garbage"); r.Status != 401 {
		t.Fatalf("bad token on a public file route: %d", r.Status)
	}
}

// fakeHub records who the gateway says is streaming, and from where.
type fakeHub struct {
	mu    sync.Mutex
	users []string
	ips   []string
}

func (h *fakeHub) SSE(ctx *fasthttp.RequestCtx, userID string, ip netip.Addr) {
	h.serve(ctx, "sse", userID, ip)
}
func (h *fakeHub) WS(ctx *fasthttp.RequestCtx, userID string, ip netip.Addr) {
	h.serve(ctx, "ws", userID, ip)
}
func (h *fakeHub) serve(ctx *fasthttp.RequestCtx, kind, userID string, ip netip.Addr) {
	h.mu.Lock()
	h.users = append(h.users, kind+":"+userID)
	h.ips = append(h.ips, ip.String())
	h.mu.Unlock()
	ctx.SetContentType("text/event-stream")
	ctx.SetBodyString("hello " + userID)
}

func TestStreamRoutesGetVerifiedUser(t *testing.T) {
	t.Parallel()
	hub := &fakeHub{}
	_, base, _, k := setup(t, func(_ *edge.Config, d *edge.Deps) { d.Stream = hub })
	tok := k.Sign(t, "u5", contracts.RoleCustomer, time.Hour)
	if r := do(t, "GET", base+"/api/v1/notifications/stream", "", "X-OC-Actor-Id", "u6"); r.Status != 401 {
		t.Fatalf("anonymous stream: %d", r.Status)
	}
	r := do(t, "GET", base+"/api/v1/notifications/stream", "", "Authorization", "Bearer "+tok, "X-Actor-Id", "u6")
	if r.Status != 200 || string(r.Body) != "hello u5" {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	do(t, "GET", base+"/api/v1/ws", "", "Authorization", "Bearer "+tok)
	// Browsers' EventSource and WebSocket cannot set headers: the token may
	// come as ?access_token= on the streaming routes only.
	other := k.Sign(t, "u7", contracts.RoleCustomer, time.Hour)
	if r := do(t, "GET", base+"/api/v1/notifications/stream?access_token="+other, ""); r.Status != 200 || string(r.Body) != "hello u7" {
		t.Fatalf("query token: %d %s", r.Status, r.Body)
	}
	if r := do(t, "GET", base+"/api/v1/ws?access_token=forged", ""); r.Status != 401 {
		t.Fatalf("forged query token: %d %s", r.Status, r.Body)
	}
	if r := do(t, "GET", base+"/api/v1/users/me?access_token="+other, ""); r.Status != 400 || !strings.Contains(string(r.Body), "access_token") {
		t.Fatalf("a query token on a non-streaming route must not sign in (it is an unknown parameter there): %d %s", r.Status, r.Body)
	}
	hub.mu.Lock()
	defer hub.mu.Unlock()
	if strings.Join(hub.users, ",") != "sse:u5,ws:u5,sse:u7" {
		t.Fatalf("hub saw %v", hub.users)
	}
}

// The hub's per-address cap counts the client's address as the rate limits
// see it: behind a trusted proxy, the X-Forwarded-For client, not the proxy
// (which would put every user behind it under one cap).
func TestStreamRoutesGetClientAddress(t *testing.T) {
	t.Parallel()
	hub := &fakeHub{}
	_, base, _, k := setup(t, func(c *edge.Config, d *edge.Deps) {
		c.TrustedProxies = []string{"127.0.0.1/32"}
		d.Stream = hub
	})
	tok := k.Sign(t, "u5", contracts.RoleCustomer, time.Hour)
	do(t, "GET", base+"/api/v1/notifications/stream", "", "Authorization", "Bearer "+tok, "X-Forwarded-For", "203.0.113.9")
	do(t, "GET", base+"/api/v1/ws", "", "Authorization", "Bearer "+tok, "X-Forwarded-For", "198.51.100.7")
	do(t, "GET", base+"/api/v1/ws", "", "Authorization", "Bearer "+tok)
	hub.mu.Lock()
	defer hub.mu.Unlock()
	if got := strings.Join(hub.ips, ","); got != "203.0.113.9,198.51.100.7,127.0.0.1" {
		t.Fatalf("hub saw addresses %s, want the forwarded clients, then the peer", got)
	}
}

// TestStreamedJSONBodies: with request bodies streamed, a JSON route still
// gets its whole body (beyond fasthttp's 8 KiB prefetch, declared or
// chunked), and a route without a body still refuses a huge one with a 413
// the client reads.
func TestStreamedJSONBodies(t *testing.T) {
	t.Parallel()
	_, base, rpc, k := setup(t)
	tok := k.Sign(t, "u1", contracts.RoleCustomer, time.Hour)
	body := `{"note":"` + strings.Repeat("y", 40<<10) + `"}`
	for _, chunked := range []bool{false, true} {
		var rd io.Reader = strings.NewReader(body)
		if chunked {
			rd = io.MultiReader(rd) // unknown length: net/http sends it chunked
		}
		req, _ := http.NewRequest("POST", base+"/api/v1/auth/login", rd)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(rpc.last(t).Env.Body) != body {
			t.Fatalf("chunked=%v: %d, the service got %d bytes of %d", chunked, resp.StatusCode, len(rpc.last(t).Env.Body), len(body))
		}
	}
	big := strings.Repeat("z", 2<<20)
	r := do(t, "DELETE", base+"/api/v1/users/me/addresses/"+productID, big, "Authorization", "Bearer "+tok)
	if r.Status != 413 || r.errorCode(t) != contracts.CodePayloadTooLarge {
		t.Fatalf("huge body on a route without one: %d %s", r.Status, r.Body)
	}
	r = do(t, "DELETE", base+"/api/v1/users/me/addresses/"+productID, strings.Repeat("z", 300<<10), "Authorization", "Bearer "+tok)
	if r.Status != 204 {
		t.Fatalf("a body on a route without one is ignored: %d %s", r.Status, r.Body)
	}
}
