package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/bus/bustest"
	"github.com/opencommerce/opencommerce/internal/telemetry/telemetrytest"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// replyPaths are the transport modes every RPC test runs against.
var replyPaths = []bus.ReplyPath{bus.ReplyDirect, bus.ReplyQueue}

// TestRPC is the shared suite: each case runs on every reply path.
func TestRPC(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, path bus.ReplyPath)
	}{
		{"RoundTrip", testRoundTrip},
		{"ConcurrentCallers", testConcurrentCallers},
		{"ExpiredRequestSkipped", testExpiredRequestSkipped},
		{"NoServerIsUnavailable", testNoServer},
		{"BadInput", testBadInput},
		{"MalformedMessage", testMalformedMessage},
		{"PanicBecomesInternal", testPanic},
		{"ConnectionKilled", testConnectionKilled},
	}
	for _, path := range replyPaths {
		t.Run(string(path), func(t *testing.T) {
			t.Parallel()
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, path)
				})
			}
		})
	}
}

type echoReq struct {
	N    int    `json:"n"`
	Text string `json:"text"`
}

func echoHandlers() map[string]bus.Handler {
	return map[string]bus.Handler{
		"echo.echo": func(ctx context.Context, req *bus.Request) (any, error) {
			var in echoReq
			if err := bus.Decode(req, &in); err != nil {
				return nil, err
			}
			return in, nil
		},
		"echo.whoami": func(ctx context.Context, req *bus.Request) (any, error) {
			return map[string]string{"id": req.Actor.ID, "role": req.Actor.Role, "request_id": req.RequestID}, nil
		},
		"echo.fail": func(ctx context.Context, req *bus.Request) (any, error) {
			return nil, contracts.NotFound("widget")
		},
	}
}

func setup(t *testing.T, path bus.ReplyPath, handlers map[string]bus.Handler) *bus.Client {
	t.Helper()
	url := testenv.AMQP(t)
	bustest.Serve(t, bustest.Dial(t, url), bus.ServerConfig{Service: "echo"}, handlers)
	return bustest.Client(t, bustest.Dial(t, url), bus.ClientConfig{ReplyPath: path})
}

func testRoundTrip(t *testing.T, path bus.ReplyPath) {
	cl := setup(t, path, echoHandlers())
	ctx := context.Background()

	got, err := bus.Invoke[echoReq](ctx, cl, "echo", "echo.echo", echoReq{N: 7, Text: "hé"}, bus.CallOptions{})
	if err != nil || got != (echoReq{N: 7, Text: "hé"}) {
		t.Fatalf("echo: got %+v, %v", got, err)
	}
	who, err := bus.Invoke[map[string]string](ctx, cl, "echo", "echo.whoami", nil, bus.CallOptions{
		Actor: contracts.Actor{ID: "u1", Role: contracts.RoleSeller}, RequestID: "r1",
	})
	if err != nil || who["id"] != "u1" || who["role"] != "seller" || who["request_id"] != "r1" {
		t.Fatalf("whoami: got %v, %v", who, err)
	}
	// An error reply is a Reply, not a transport error.
	rep, err := cl.Call(ctx, "echo", "echo.fail", nil, bus.CallOptions{})
	if err != nil || rep.Status != string(contracts.CodeNotFound) {
		t.Fatalf("fail: got %+v, %v", rep, err)
	}
	if e := contracts.AsError(rep.Err()); e.Code != contracts.CodeNotFound || e.Message != "widget not found" {
		t.Fatalf("fail: error body %+v", e)
	}
	_, err = bus.Invoke[echoReq](ctx, cl, "echo", "echo.fail", nil, bus.CallOptions{})
	if contracts.ErrorCode(err) != contracts.CodeNotFound {
		t.Fatalf("Invoke of failing method: %v", err)
	}
	// Unknown method: a coded error naming the method.
	rep, err = cl.Call(ctx, "echo", "echo.nope", nil, bus.CallOptions{})
	if err != nil || rep.Status != string(contracts.CodeNotFound) {
		t.Fatalf("unknown method: got %+v, %v", rep, err)
	}
	if msg := contracts.AsError(rep.Err()).Message; msg != `unknown method "echo.nope"` {
		t.Fatalf("unknown method message %q", msg)
	}
}

func testConcurrentCallers(t *testing.T, path bus.ReplyPath) {
	cl := setup(t, path, echoHandlers())
	const callers, each = 64, 20
	var wg sync.WaitGroup
	errs := make(chan error, callers*each)
	for g := range callers {
		wg.Go(func() {
			for i := range each {
				want := echoReq{N: g*1000 + i, Text: strconv.Itoa(g)}
				got, err := bus.Invoke[echoReq](context.Background(), cl, "echo", "echo.echo", want, bus.CallOptions{})
				if err != nil || got != want {
					errs <- fmt.Errorf("caller %d call %d: got %+v, %v", g, i, got, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testExpiredRequestSkipped(t *testing.T, path bus.ReplyPath) {
	url := testenv.AMQP(t)
	reg := prometheus.NewRegistry()
	started, release := make(chan struct{}), make(chan struct{})
	var counted atomic.Int32
	srv := bus.NewServer(bustest.Dial(t, url), bus.ServerConfig{Service: "slow", Workers: 1}, nil, reg)
	srv.Handle("slow.block", func(ctx context.Context, req *bus.Request) (any, error) {
		close(started)
		<-release
		return nil, nil
	})
	srv.Handle("slow.count", func(ctx context.Context, req *bus.Request) (any, error) {
		return counted.Add(1), nil
	})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	cl := bustest.Client(t, bustest.Dial(t, url), bus.ClientConfig{ReplyPath: path})

	// Occupy the only worker.
	blocked := make(chan error, 1)
	go func() {
		_, err := cl.Call(context.Background(), "slow", "slow.block", nil, bus.CallOptions{})
		blocked <- err
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := cl.Call(ctx, "slow", "slow.count", nil, bus.CallOptions{})
	if contracts.ErrorCode(err) != contracts.CodeDeadlineExceeded {
		t.Fatalf("call behind a busy server: got %v, want deadline_exceeded", err)
	}
	close(release)
	if err := <-blocked; err != nil {
		t.Fatalf("blocking call: %v", err)
	}
	// The single worker takes requests in order, so once this call is
	// answered the expired one has been seen and skipped.
	n, err := bus.Invoke[int32](context.Background(), cl, "slow", "slow.count", nil, bus.CallOptions{})
	if err != nil || n != 1 {
		t.Fatalf("count after expiry: got %d, %v; the expired request ran the handler", n, err)
	}
	if got := telemetrytest.Value(t, reg, "oc_rpc_server_expired_total", nil); got != 1 {
		t.Fatalf("oc_rpc_server_expired_total = %v, want 1", got)
	}
}

func testNoServer(t *testing.T, path bus.ReplyPath) {
	c, _ := bustest.Conn(t)
	cl := bustest.Client(t, c, bus.ClientConfig{ReplyPath: path})
	// A long deadline: only the broker's return can end this call early.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := cl.Call(ctx, "nobody", "nobody.get", []byte(`{}`), bus.CallOptions{})
	if contracts.ErrorCode(err) != contracts.CodeUnavailable {
		t.Fatalf("call to an unserved service: got %v, want unavailable", err)
	}
}

func testBadInput(t *testing.T, path bus.ReplyPath) {
	cl := setup(t, path, echoHandlers())
	for _, tc := range []struct{ name, body, want string }{
		{"wrong type", `{"n":"seven"}`, `field "n" must be an integer, not string`},
		{"unknown field", `{"n":1,"colour":"red"}`, `unknown field "colour"`},
		{"trailing data", `{"n":1} {"n":2}`, "request body must hold a single JSON value (trailing data after it)"},
		{"not JSON", `{"n":`, "malformed JSON: unexpected end of input"},
		{"not an object", `[1]`, "request body must be an object, not array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := cl.Call(context.Background(), "echo", "echo.echo", []byte(tc.body), bus.CallOptions{})
			if err != nil || rep.Status != string(contracts.CodeInvalidArgument) {
				t.Fatalf("got %+v, %v; want invalid_argument", rep, err)
			}
			if msg := contracts.AsError(rep.Err()).Message; msg != tc.want {
				t.Fatalf("message %q, want %q", msg, tc.want)
			}
		})
	}
}

// testMalformedMessage publishes requests by hand that no Client would
// send: bad header types get invalid_argument; no reply_to is dropped;
// the server keeps serving.
func testMalformedMessage(t *testing.T, path bus.ReplyPath) {
	url := testenv.AMQP(t)
	srvConn := bustest.Dial(t, url)
	bustest.Serve(t, srvConn, bus.ServerConfig{Service: "echo"}, echoHandlers())
	cl := bustest.Client(t, bustest.Dial(t, url), bus.ClientConfig{ReplyPath: path})

	raw, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ch, err := raw.Channel()
	if err != nil {
		t.Fatal(err)
	}
	replies, err := ch.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	publish := func(p amqp.Publishing) {
		t.Helper()
		if err := ch.Publish(contracts.RPCExchange, "echo", false, false, p); err != nil {
			t.Fatal(err)
		}
	}
	publish(amqp.Publishing{Type: "echo.echo", Body: []byte(`{"n":1}`)}) // no reply_to: dropped
	for _, tc := range []struct {
		name    string
		headers amqp.Table
		typ     string
	}{
		{"deadline not a number", amqp.Table{contracts.HeaderDeadline: "soon"}, "echo.echo"},
		{"actor not a string", amqp.Table{contracts.HeaderActorID: int64(5)}, "echo.echo"},
		{"no method", nil, ""},
	} {
		publish(amqp.Publishing{Type: tc.typ, Headers: tc.headers, ReplyTo: "amq.rabbitmq.reply-to", CorrelationId: tc.name, Body: []byte(`{}`)})
		select {
		case d := <-replies:
			if d.CorrelationId != tc.name || d.Headers[contracts.HeaderStatus] != string(contracts.CodeInvalidArgument) {
				t.Errorf("%s: reply %q status %v, want invalid_argument", tc.name, d.CorrelationId, d.Headers[contracts.HeaderStatus])
			}
			var eb contracts.ErrorBody
			if err := json.Unmarshal(d.Body, &eb); err != nil || eb.Error == nil || eb.Error.Message == "" {
				t.Errorf("%s: error body %s", tc.name, d.Body)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no reply", tc.name)
		}
	}
	if _, err := bus.Invoke[echoReq](context.Background(), cl, "echo", "echo.echo", echoReq{N: 1}, bus.CallOptions{}); err != nil {
		t.Fatalf("server stopped serving after malformed messages: %v", err)
	}
}

func testPanic(t *testing.T, path bus.ReplyPath) {
	h := echoHandlers()
	h["echo.panic"] = func(ctx context.Context, req *bus.Request) (any, error) { panic("boom") }
	cl := setup(t, path, h)
	for range 3 {
		rep, err := cl.Call(context.Background(), "echo", "echo.panic", nil, bus.CallOptions{})
		if err != nil || rep.Status != string(contracts.CodeInternal) {
			t.Fatalf("panicking handler: got %+v, %v; want internal", rep, err)
		}
		if msg := contracts.AsError(rep.Err()).Message; msg != "internal error" {
			t.Fatalf("panic leaked %q", msg)
		}
	}
	if _, err := bus.Invoke[echoReq](context.Background(), cl, "echo", "echo.echo", echoReq{N: 2}, bus.CallOptions{}); err != nil {
		t.Fatalf("server stopped serving after a panic: %v", err)
	}
}

func testConnectionKilled(t *testing.T, path bus.ReplyPath) {
	url := testenv.AMQP(t)
	reg := prometheus.NewRegistry()
	ctx0, cancel0 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel0()
	cliConn, err := bus.Dial(ctx0, bus.Config{URL: url, Name: "client", MinBackoff: 20 * time.Millisecond, MaxBackoff: 300 * time.Millisecond}, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cliConn.Close() })
	srvConn := bustest.Dial(t, url)
	bustest.Serve(t, srvConn, bus.ServerConfig{Service: "echo"}, echoHandlers())
	cl := bustest.Client(t, cliConn, bus.ClientConfig{ReplyPath: path})

	// Traffic before, during and after the kill. Every call must return:
	// ok, or unavailable/deadline_exceeded around the outage.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var okCalls, failedCalls atomic.Int64
	errs := make(chan error, 100)
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				want := echoReq{N: g*100000 + i}
				got, err := bus.Invoke[echoReq](ctx, cl, "echo", "echo.echo", want, bus.CallOptions{})
				cancel()
				switch code := contracts.ErrorCode(err); code {
				case "":
					if got != want {
						errs <- fmt.Errorf("got %+v, want %+v", got, want)
					}
					okCalls.Add(1)
				case contracts.CodeUnavailable, contracts.CodeDeadlineExceeded:
					failedCalls.Add(1)
					time.Sleep(10 * time.Millisecond)
				default:
					errs <- fmt.Errorf("unexpected error %v", err)
				}
			}
		})
	}
	testenv.Eventually(t, "traffic", func() bool { return okCalls.Load() > 100 })
	if n := testenv.CloseAMQPConnections(t, testenv.VHost(url)); n < 1 {
		t.Fatalf("closed %d connections", n)
	}
	testenv.Eventually(t, "reconnect", func() bool { return telemetrytest.Value(t, reg, "oc_bus_reconnects_total", nil) >= 1 })
	testenv.Eventually(t, "ready", func() bool { return cliConn.Ready() == nil && srvConn.Ready() == nil })
	before := okCalls.Load()
	testenv.Eventually(t, "calls succeeding after recovery", func() bool { return okCalls.Load() > before+100 })
	close(stop)
	wg.Wait() // no caller hangs: the test would time out here
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("ok %d, failed around the outage %d", okCalls.Load(), failedCalls.Load())
	if got := telemetrytest.Value(t, reg, "oc_bus_connected", nil); got != 1 {
		t.Errorf("oc_bus_connected = %v after recovery", got)
	}
}

func TestReadyAfterClose(t *testing.T) {
	c, _ := bustest.Conn(t)
	if err := c.Ready(); err != nil {
		t.Fatalf("Ready on a fresh connection: %v", err)
	}
	_ = c.Close()
	if err := c.Ready(); contracts.ErrorCode(err) != contracts.CodeUnavailable {
		t.Fatalf("Ready after Close: %v", err)
	}
	cl, err := bus.NewClient(c, bus.ClientConfig{Timeout: time.Second}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := cl.Call(context.Background(), "x", "x.y", nil, bus.CallOptions{}); !errors.Is(err, err) || contracts.ErrorCode(err) != contracts.CodeUnavailable {
		t.Fatalf("call on a closed connection: %v", err)
	}
}
