package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// Client calls the gateway's public API over keep-alive connections
// (fasthttp). Safe for concurrent use.
type Client struct {
	hc      *fasthttp.HostClient
	base    string // "/api/v1"
	timeout time.Duration
	rec     *Recorder
}

// NewClient returns a client of the gateway at baseURL (http://host:port).
// Every request it makes through Do is recorded in rec when rec is not nil.
func NewClient(baseURL string, maxConns int, timeout time.Duration, rec *Recorder) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("gateway URL %q: want http://host:port", baseURL)
	}
	hc := &fasthttp.HostClient{
		Addr:                          u.Host,
		IsTLS:                         u.Scheme == "https",
		MaxConns:                      maxConns,
		MaxIdleConnDuration:           30 * time.Second,
		ReadTimeout:                   timeout,
		WriteTimeout:                  timeout,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		MaxConnWaitTimeout:            timeout,
	}
	base := strings.TrimRight(u.Path, "/")
	if base == "" {
		base = "/api/v1"
	}
	return &Client{hc: hc, base: base, timeout: timeout, rec: rec}, nil
}

// Call is one API request.
type Call struct {
	// Endpoint names the route for the report ("GET /products/{id}").
	Endpoint string
	Method   string
	Path     string // under the API base, with the query
	Token    string
	Body     any    // JSON-encoded when not nil ([]byte is sent as is)
	Idem     string // Idempotency-Key
	// ContentType of Body (default application/json): set it with a
	// []byte Body to send raw bytes (a file upload).
	ContentType string
	// Start is when the request was meant to be sent; zero means now.
	Start time.Time
}

// Response is an API answer: status 0 means no answer (Err says why).
type Response struct {
	Status  int
	Body    []byte
	Latency time.Duration
	Err     error
	// RetryAfter is the answer's Retry-After (whole seconds), 0 without one.
	RetryAfter time.Duration
}

// OK reports a 2xx answer.
func (r Response) OK() bool { return Success(r.Status) }

// Decode unmarshals the body into v.
func (r Response) Decode(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode %d reply: %w", r.Status, err)
	}
	return nil
}

// Error describes a failed answer (nil for 2xx).
func (r Response) Error() error {
	if r.OK() {
		return nil
	}
	if r.Err != nil {
		return r.Err
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	_ = json.Unmarshal(r.Body, &e)
	return fmt.Errorf("status %d %s: %s", r.Status, e.Error.Code, e.Error.Message)
}

// Do sends c, records it (when the client has a recorder and c.Endpoint is
// set) and returns the answer. ctx only bounds the wait beyond the client
// timeout. A recorded call that is rate limited (429 with Retry-After) is
// retried after the wait it names, while ctx allows.
func (cl *Client) Do(ctx context.Context, c Call) Response {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(c.Method)
	req.SetRequestURI(cl.base + c.Path)
	req.Header.SetHost(cl.hc.Addr)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.Idem != "" {
		req.Header.Set("Idempotency-Key", c.Idem)
	}
	if c.Body != nil {
		var b []byte
		switch v := c.Body.(type) {
		case []byte:
			b = v
		default:
			var err error
			if b, err = json.Marshal(v); err != nil {
				return Response{Err: err}
			}
		}
		ct := c.ContentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.SetContentType(ct)
		req.SetBody(b)
	}
	start := c.Start
	if start.IsZero() {
		start = time.Now()
	}
	out := cl.send(ctx, c, req, resp, start)
	// A recorded request the gateway rate-limits is sent again after the
	// Retry-After it names, as a well-behaved client would; the wait counts
	// in its latency. One the run's end cuts short is not recorded: it
	// did not finish within the run.
	for cl.rec != nil && c.Endpoint != "" && out.Status == fasthttp.StatusTooManyRequests && out.RetryAfter > 0 {
		if dl, ok := ctx.Deadline(); ok && time.Now().Add(out.RetryAfter).After(dl) {
			return out
		}
		cl.rec.RateLimited(c.Endpoint)
		select {
		case <-ctx.Done():
			return out
		case <-time.After(out.RetryAfter):
		}
		resp.Reset()
		out = cl.send(ctx, c, req, resp, start)
	}
	if cl.rec != nil && c.Endpoint != "" {
		cl.rec.Record(c.Endpoint, out.Status, out.Latency)
	}
	return out
}

// send makes one round trip of req; Latency counts from start.
func (cl *Client) send(ctx context.Context, c Call, req *fasthttp.Request, resp *fasthttp.Response, start time.Time) Response {
	timeout := cl.timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	err := cl.hc.DoTimeout(req, resp, timeout)
	out := Response{Latency: time.Since(start)}
	if err != nil {
		out.Err = err
		if errors.Is(err, fasthttp.ErrTimeout) {
			out.Err = fmt.Errorf("%s %s: timeout after %s", c.Method, c.Path, timeout)
		}
	} else {
		out.Status = resp.StatusCode()
		out.Body = append([]byte(nil), resp.Body()...)
		if ra := resp.Header.Peek("Retry-After"); len(ra) > 0 {
			if secs, err := strconv.Atoi(string(ra)); err == nil && secs > 0 {
				out.RetryAfter = time.Duration(min(secs, 3600)) * time.Second
			}
		}
	}
	return out
}

// Setup sends c and retries what a busy or starting platform answers: a
// 429 after the Retry-After it names, for as long as ctx lasts (calling
// limited, when not nil, before each such wait); a 503 or a connection
// error a bounded number of times, after Retry-After when given. Any other
// failure is returned at once. Seeding (loadgen, opencommerce demo) uses it.
func (cl *Client) Setup(ctx context.Context, c Call, limited func(c Call, wait time.Duration)) (Response, error) {
	var r Response
	for attempt := 0; attempt < 30; {
		r = cl.Do(ctx, c)
		var wait time.Duration
		switch {
		case r.OK():
			return r, nil
		case r.Status == 429:
			wait = max(r.RetryAfter, 50*time.Millisecond)
			if limited != nil {
				limited(c, wait)
			}
		case r.Status == 503 || r.Status == 0:
			attempt++
			wait = max(r.RetryAfter, time.Duration(50*attempt)*time.Millisecond)
		default:
			return r, fmt.Errorf("%s %s: %w", c.Method, c.Path, r.Error())
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(wait):
		}
	}
	return r, fmt.Errorf("%s %s: %w", c.Method, c.Path, r.Error())
}
