// Package filedata is the gateway's side of the file service's data port
// (see package file for the protocol): it streams an upload's body from a
// fasthttp request to a file service instance and streams the instance's
// answer back, and the same for downloads and thumbnails. Nothing is
// buffered whole: bodies flow through in chunks both ways.
//
// Wiring in the gateway (edge):
//
//   - Serve with fasthttp.Server{StreamRequestBody: true} and a
//     MaxRequestBodySize at least the file service's largest limit plus
//     multipart framing (file.max-document-size + 64 KiB by default), or the
//     whole upload is read into memory first (it still works, but buffers).
//   - Verify the token and drop any client-sent X-OC-Actor-* and
//     X-OC-Internal-Token headers (the client never forwards request
//     headers other than those listed below, so only Request.Actor counts).
//   - Pick a healthy instance's base URL ("http://10.0.0.7:8090", from the
//     data_port meta in Consul or -file.data-url in static mode), then call
//     Upload for POST /api/v1/files and Download for GET|HEAD
//     /api/v1/files/{id} and /api/v1/files/{id}/thumbnail. Access checks
//     happen in the file service (it gets the actor), so the gateway needs
//     no file.stat call.
//   - A non-nil error means the instance could not be reached (or failed
//     before answering) and nothing was written to the RequestCtx. A
//     Download may then be retried on another instance; an Upload may not
//     (its body is partly consumed): answer 503 with the error.
//
// Answers (success and error JSON alike, with status and the headers that
// matter: ETag, Content-Range, Content-Disposition, Cache-Control, …) are
// passed through unchanged.
package filedata

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/contracts"
)

// Header names of the data port protocol.
const (
	HeaderInternalToken = "X-OC-Internal-Token"
	HeaderActorID       = "X-OC-Actor-Id"
	HeaderActorRole     = "X-OC-Actor-Role"
	HeaderRequestID     = "X-Request-Id"
)

// Config configures a Client.
type Config struct {
	// InternalToken is sent as X-OC-Internal-Token (the file service's
	// file.internal-token); empty sends none.
	InternalToken string
	// UploadTimeout bounds a whole upload (default 10m).
	UploadTimeout time.Duration
	// DownloadTimeout bounds a whole download, body included (default 10m).
	DownloadTimeout time.Duration
	// DialTimeout bounds connecting to an instance (default 3s).
	DialTimeout time.Duration
	// MaxIdleConnsPerHost is the keep-alive pool per instance (default 64).
	MaxIdleConnsPerHost int
	// DrainLimit bounds how much of an upload's remaining body is read and
	// dropped after the file service answered early (413, 415, 400) without
	// reading it all (default 32 MiB; negative = never). fasthttp closes a
	// connection with unread body at once, and the client's TCP stack then
	// usually discards the answer (PITFALLS: fasthttp #1348); draining lets
	// the client see its 413. The gateway's MaxRequestBodySize bounds it too.
	DrainLimit int64
}

// Request says on whose behalf a call is made.
type Request struct {
	// Actor is the verified caller (zero = anonymous; downloads of public
	// files need none, uploads need a user).
	Actor contracts.Actor
	// RequestID is forwarded for the logs.
	RequestID string
}

// Client calls file service data ports. It is safe for concurrent use and
// keeps connections alive per instance.
type Client struct {
	cfg Config
	hc  *http.Client
}

// New returns a Client.
func New(cfg Config) *Client {
	if cfg.UploadTimeout <= 0 {
		cfg.UploadTimeout = 10 * time.Minute
	}
	if cfg.DownloadTimeout <= 0 {
		cfg.DownloadTimeout = 10 * time.Minute
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 3 * time.Second
	}
	if cfg.MaxIdleConnsPerHost <= 0 {
		cfg.MaxIdleConnsPerHost = 64
	}
	if cfg.DrainLimit == 0 {
		cfg.DrainLimit = 32 << 20
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: cfg.MaxIdleConnsPerHost,
		IdleConnTimeout:     90 * time.Second,
		// Bytes pass through as they are: no transparent gzip, which would
		// break ranges and lengths.
		DisableCompression: true,
		Proxy:              nil,
	}
	return &Client{cfg: cfg, hc: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// CloseIdleConnections closes kept-alive connections (on shutdown).
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// errUnavailable is returned for transport failures.
var errUnavailable = contracts.Errorf(contracts.CodeUnavailable, "the file service is unavailable")

// Upload streams ctx's request body (its Content-Type and Content-Length
// too, and its query string: purpose, folder, name) to baseURL's POST
// /upload and writes the answer to ctx. The body is read from
// ctx.RequestBodyStream() when the server streams request bodies, else from
// ctx.PostBody(). Upload returns only when nothing more will read the
// request body, so ctx is never touched after the handler returns.
func (c *Client) Upload(ctx *fasthttp.RequestCtx, baseURL string, r Request) error {
	u, err := endpoint(baseURL, "/upload")
	if err != nil {
		return err
	}
	u.RawQuery = string(ctx.URI().QueryString())
	var src io.Reader
	if s := ctx.RequestBodyStream(); s != nil {
		src = s
	} else {
		src = bytes.NewReader(ctx.PostBody())
	}
	body := &detachable{r: src}
	defer body.detach()

	cctx, cancel := context.WithTimeout(context.Background(), c.cfg.UploadTimeout)
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, u.String(), body)
	if err != nil {
		cancel()
		return err
	}
	req.ContentLength = int64(ctx.Request.Header.ContentLength())
	if req.ContentLength < 0 {
		req.ContentLength = -1 // unknown: chunked
	} else if req.ContentLength == 0 {
		req.Body = http.NoBody
	}
	if ct := ctx.Request.Header.ContentType(); len(ct) > 0 {
		req.Header.Set("Content-Type", string(ct))
	}
	c.identify(req, r)
	resp, err := c.hc.Do(req)
	// From here on the transport may still be sending the body (an early
	// answer such as 413); cut it off from ctx before returning.
	body.detach()
	if err != nil {
		cancel()
		return unavailable(err)
	}
	if c.cfg.DrainLimit > 0 {
		// Whatever the service left unread (an early answer), bounded in
		// size and by the upload's deadline (the gateway's read timeout).
		_, _ = io.Copy(io.Discard, io.LimitReader(src, c.cfg.DrainLimit))
	}
	c.relay(ctx, resp, cancel, false)
	return nil
}

// Download streams file id's bytes (or its thumbnail) from baseURL to ctx,
// passing Range, If-Range, If-None-Match and If-Modified-Since through, so
// the file service answers 200, 206, 304 or 416 itself. HEAD requests stay
// HEAD. A malformed id is answered 404 without calling anyone.
func (c *Client) Download(ctx *fasthttp.RequestCtx, baseURL, id string, thumbnail bool, r Request) error {
	if _, err := uuid.Parse(id); err != nil {
		writeError(ctx, contracts.NotFound("file"))
		return nil
	}
	path := "/files/" + id
	if thumbnail {
		path += "/thumbnail"
	}
	u, err := endpoint(baseURL, path)
	if err != nil {
		return err
	}
	method := http.MethodGet
	head := ctx.IsHead()
	if head {
		method = http.MethodHead
	}
	cctx, cancel := context.WithTimeout(context.Background(), c.cfg.DownloadTimeout)
	req, err := http.NewRequestWithContext(cctx, method, u.String(), nil)
	if err != nil {
		cancel()
		return err
	}
	for _, h := range []string{"Range", "If-Range", "If-None-Match", "If-Modified-Since"} {
		if v := ctx.Request.Header.Peek(h); len(v) > 0 {
			req.Header.Set(h, string(v))
		}
	}
	c.identify(req, r)
	resp, err := c.hc.Do(req)
	if err != nil {
		cancel()
		return unavailable(err)
	}
	c.relay(ctx, resp, cancel, head)
	return nil
}

func (c *Client) identify(req *http.Request, r Request) {
	if c.cfg.InternalToken != "" {
		req.Header.Set(HeaderInternalToken, c.cfg.InternalToken)
	}
	if r.Actor.ID != "" || r.Actor.Role != "" {
		req.Header.Set(HeaderActorID, r.Actor.ID)
		req.Header.Set(HeaderActorRole, r.Actor.Role)
	}
	if r.RequestID != "" {
		req.Header.Set(HeaderRequestID, r.RequestID)
	}
}

// passHeaders are the answer headers copied to the client.
var passHeaders = []string{
	"Content-Type", "Content-Range", "Accept-Ranges", "Etag", "Last-Modified", "Cache-Control",
	"Content-Disposition", "X-Content-Type-Options", "Content-Security-Policy", "Location",
	"Retry-After", // the file service's 429 (upload rate) and 503 (busy decoding)
}

// relay writes resp to ctx; the body streams after the handler returns and
// cancel runs when it is done (or at once when there is none).
func (c *Client) relay(ctx *fasthttp.RequestCtx, resp *http.Response, cancel context.CancelFunc, head bool) {
	ctx.SetStatusCode(resp.StatusCode)
	for _, h := range passHeaders {
		if v := resp.Header.Get(h); v != "" {
			ctx.Response.Header.Set(h, v)
		}
	}
	noBody := head || resp.StatusCode == http.StatusNotModified || resp.StatusCode == http.StatusNoContent
	if noBody {
		_ = resp.Body.Close()
		cancel()
		if head && resp.ContentLength >= 0 {
			ctx.Response.Header.SetContentLength(int(resp.ContentLength))
			ctx.Response.SkipBody = true
		}
		return
	}
	ctx.SetBodyStream(&streamBody{rc: resp.Body, cancel: cancel}, int(resp.ContentLength))
}

// streamBody is an answer body fasthttp reads after the handler returned;
// fasthttp closes it when done, which releases the call.
type streamBody struct {
	rc     io.ReadCloser
	cancel context.CancelFunc
	once   sync.Once
}

func (b *streamBody) Read(p []byte) (int, error) { return b.rc.Read(p) }

func (b *streamBody) Close() error {
	var err error
	b.once.Do(func() {
		err = b.rc.Close()
		b.cancel()
	})
	return err
}

// detachable hands the request body to the HTTP transport until detach;
// after that, reads fail and the RequestCtx's stream is never touched
// again. detach waits for a read in progress.
type detachable struct {
	mu  sync.Mutex
	r   io.Reader
	off bool
}

var errDetached = errors.New("filedata: upload body no longer available")

func (d *detachable) Read(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.off {
		return 0, errDetached
	}
	return d.r.Read(p)
}

// Close implements io.Closer (the transport closes the body when done).
func (d *detachable) Close() error { d.detach(); return nil }

func (d *detachable) detach() {
	d.mu.Lock()
	d.off = true
	d.mu.Unlock()
}

func endpoint(baseURL, path string) (*url.URL, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, contracts.Errorf(contracts.CodeUnavailable, "bad file service address %q", baseURL)
	}
	u.Path = path
	u.RawQuery = ""
	return u, nil
}

func unavailable(err error) error {
	e := *errUnavailable
	if errors.Is(err, context.DeadlineExceeded) {
		e = *contracts.Errorf(contracts.CodeDeadlineExceeded, "the file service did not answer in time")
	}
	return &e
}

// WriteError writes err as the platform's JSON error body with its status
// (for the caller's convenience when Upload or Download returns an error).
func WriteError(ctx *fasthttp.RequestCtx, err error) { writeError(ctx, err) }

func writeError(ctx *fasthttp.RequestCtx, err error) {
	e := contracts.AsError(err)
	ctx.Response.Reset()
	ctx.SetStatusCode(e.Code.HTTPStatus())
	ctx.SetContentType("application/json")
	b, _ := json.Marshal(contracts.ErrorBody{Error: e})
	ctx.SetBody(b)
}
