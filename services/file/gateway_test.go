package file_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/filedata"
	"github.com/opencommerce/opencommerce/services/file"
)

// front is a minimal fasthttp gateway in front of the file service, wired
// the way edge wires internal/filedata: streamed request bodies, actor from a
// (test-only) header, the upload/download routes.
type front struct {
	base string
	errs chan error
}

func startFront(t testing.TB, fileBase string) *front {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &front{base: "http://" + ln.Addr().String(), errs: make(chan error, 16)}
	cli := filedata.New(filedata.Config{InternalToken: token})
	srv := &fasthttp.Server{
		StreamRequestBody:  true,
		MaxRequestBodySize: 64 << 20,
		Handler: func(ctx *fasthttp.RequestCtx) {
			r := filedata.Request{RequestID: "req-1"}
			if id := string(ctx.Request.Header.Peek("X-Test-User")); id != "" {
				r.Actor = contracts.Actor{ID: id, Role: contracts.RoleCustomer}
			}
			path := string(ctx.Path())
			var err error
			switch {
			case path == "/api/v1/files" && ctx.IsPost():
				err = cli.Upload(ctx, fileBase, r)
			case strings.HasPrefix(path, "/api/v1/files/"):
				rest := strings.TrimPrefix(path, "/api/v1/files/")
				fid, thumb := strings.CutSuffix(rest, "/thumbnail")
				err = cli.Download(ctx, fileBase, fid, thumb, r)
			default:
				ctx.SetStatusCode(404)
			}
			if err != nil {
				f.errs <- err
				filedata.WriteError(ctx, err)
			}
		},
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(); cli.CloseIdleConnections() })
	return f
}

func TestThroughDataClient(t *testing.T) {
	t.Parallel()
	h := start(t, func(c *file.Config) { c.MaxDocumentSize = 1 << 20 })
	fr := startFront(t, h.base)
	u := user()
	hc := &http.Client{Timeout: 60 * time.Second}
	send := func(req *http.Request) reply {
		t.Helper()
		req.Header.Set("X-Test-User", u.ID)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", req.Method, req.URL, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return reply{status: resp.StatusCode, header: resp.Header, body: b}
	}

	data := pngOf(t, 500, 400, 11)
	body, ct := multipartBody(part{name: "purpose", data: []byte("review_image")}, part{name: "file", filename: "r.png", data: data})
	req, _ := http.NewRequest(http.MethodPost, fr.base+"/api/v1/files", body)
	req.Header.Set("Content-Type", ct)
	r := send(req)
	if r.status != 201 {
		t.Fatalf("upload through the front: %d %s", r.status, r.body)
	}
	f := r.file(t)
	if f.SHA256 != sum(data) || r.header.Get("Location") != f.URL {
		t.Fatalf("upload reply %+v, Location %q", f, r.header.Get("Location"))
	}

	// Download, range, revalidation, thumbnail, HEAD.
	get := func(path string, hdr ...string) reply {
		req, _ := http.NewRequest(http.MethodGet, fr.base+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		return send(req)
	}
	if r := get("/api/v1/files/" + f.ID); r.status != 200 || !bytes.Equal(r.body, data) ||
		r.header.Get("Etag") != `"`+f.SHA256+`"` || r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Cache-Control") != "private, no-cache" {
		t.Fatalf("download: %d %v", r.status, r.header)
	}
	if r := get("/api/v1/files/"+f.ID, "Range", "bytes=10-19"); r.status != 206 || !bytes.Equal(r.body, data[10:20]) || r.header.Get("Content-Range") == "" {
		t.Fatalf("range: %d %q", r.status, r.header.Get("Content-Range"))
	}
	if r := get("/api/v1/files/"+f.ID, "If-None-Match", `"`+f.SHA256+`"`); r.status != 304 || len(r.body) != 0 {
		t.Fatalf("304: %d", r.status)
	}
	if r := get("/api/v1/files/" + f.ID + "/thumbnail"); r.status != 200 || r.header.Get("Content-Type") != "image/png" {
		t.Fatalf("thumbnail: %d", r.status)
	}
	if r := get("/api/v1/files/not-a-uuid"); r.status != 404 {
		t.Fatalf("bad id: %d", r.status)
	}
	hreq, _ := http.NewRequest(http.MethodHead, fr.base+"/api/v1/files/"+f.ID, nil)
	if r := send(hreq); r.status != 200 || r.header.Get("Content-Length") != strconv.Itoa(len(data)) {
		t.Fatalf("HEAD: %d %q", r.status, r.header.Get("Content-Length"))
	}

	// A body far over the limit: the 413 reaches the client and nothing
	// is stored.
	pr, pw := io.Pipe()
	go func() {
		chunk := textOf(64 << 10)
		for i := 0; i < 100; i++ {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		_ = pw.Close()
	}()
	req, _ = http.NewRequest(http.MethodPost, fr.base+"/api/v1/files?purpose=document", pr)
	r = send(req)
	_ = pr.Close()
	if r.status != http.StatusRequestEntityTooLarge || r.code() != contracts.CodePayloadTooLarge {
		t.Fatalf("too large through the front: %d %s", r.status, r.body)
	}
	if h.count("files") != 1 || len(h.temps()) != 0 {
		t.Fatalf("a refused upload left something: files %d temps %v", h.count("files"), h.temps())
	}
	select {
	case err := <-fr.errs:
		t.Fatalf("client error: %v", err)
	default:
	}
}

func TestDataClientUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	_ = ln.Close()
	fr := startFront(t, dead)
	resp, err := http.Get(fr.base + "/api/v1/files/0190a4c4-0000-7000-8000-000000000000")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("unreachable instance: %d", resp.StatusCode)
	}
	select {
	case err := <-fr.errs:
		if contracts.ErrorCode(err) != contracts.CodeUnavailable {
			t.Fatalf("error: %v", err)
		}
	default:
		t.Fatal("Download returned no error for an unreachable instance")
	}
}

// A refusal that says when to retry (over the upload rate) keeps its
// Retry-After through the gateway's data client.
func TestUploadRateRetryAfterThroughDataClient(t *testing.T) {
	t.Parallel()
	h := start(t, func(c *file.Config) { c.UploadsPerMinute = 1 })
	fr := startFront(t, h.base)
	u := user()
	upload := func() *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, fr.base+"/api/v1/files?purpose=document", bytes.NewReader(textOf(100)))
		req.Header.Set("X-Test-User", u.ID)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if resp := upload(); resp.StatusCode != http.StatusCreated {
		t.Fatalf("first upload: %d", resp.StatusCode)
	}
	resp := upload()
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != http.StatusTooManyRequests || err != nil || secs < 1 || secs > 60 {
		t.Fatalf("second upload in a minute: %d Retry-After %q, want 429 with 1..60", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
