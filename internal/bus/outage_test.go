package bus_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/bus/bustest"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// TestRPCAfterBrokerOutage: with the broker cut off (every connection
// dropped, new ones refused) the client's calls fail unavailable; once the
// broker is reachable again the supervised connection comes back on its
// own, with the default reconnect backoff, and calls succeed again.
func TestRPCAfterBrokerOutage(t *testing.T) {
	t.Parallel()
	amqpURL := testenv.AMQP(t)
	u, err := url.Parse(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cliConn, err := bus.Dial(ctx, bus.Config{URL: u.String(), Name: "outage"}, nil, nil) // default backoff
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cliConn.Close() })
	bustest.Serve(t, bustest.Dial(t, amqpURL), bus.ServerConfig{Service: "echo"}, echoHandlers())
	cl := bustest.Client(t, cliConn, bus.ClientConfig{})
	call := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := bus.Invoke[echoReq](ctx, cl, "echo", "echo.echo", echoReq{N: 7}, bus.CallOptions{})
		return err
	}
	if err := call(); err != nil {
		t.Fatalf("before the outage: %v", err)
	}

	proxy.Cut()
	testenv.Eventually(t, "the connection seen lost", func() bool { return cliConn.Ready() != nil })
	if err := call(); contracts.ErrorCode(err) != contracts.CodeUnavailable {
		t.Fatalf("during the outage: %v, want unavailable", err)
	}
	proxy.Restore()
	testenv.Eventually(t, "a call succeeding after the broker came back", func() bool { return call() == nil })
}

// TestServerClassifiesDependencyErrors: a handler's error that is not a
// *contracts.Error is answered with what ServerConfig.Classify makes of it
// (a dependency down: unavailable), and stays internal when Classify
// declines it; a *contracts.Error is never reclassified.
func TestServerClassifiesDependencyErrors(t *testing.T) {
	t.Parallel()
	conn, _ := bustest.Conn(t)
	errDown := errors.New("dial tcp: connection refused")
	classify := func(err error) *contracts.Error {
		if errors.Is(err, errDown) {
			return contracts.Errorf(contracts.CodeUnavailable, "down")
		}
		return nil
	}
	bustest.Serve(t, conn, bus.ServerConfig{Service: "dep", Classify: classify}, map[string]bus.Handler{
		"dep.down":    func(context.Context, *bus.Request) (any, error) { return nil, fmt.Errorf("load: %w", errDown) },
		"dep.bug":     func(context.Context, *bus.Request) (any, error) { return nil, errors.New("a bug") },
		"dep.missing": func(context.Context, *bus.Request) (any, error) { return nil, contracts.NotFound("thing") },
	})
	cl := bustest.Client(t, conn, bus.ClientConfig{})
	for method, want := range map[string]contracts.Code{
		"dep.down": contracts.CodeUnavailable, "dep.bug": contracts.CodeInternal, "dep.missing": contracts.CodeNotFound,
	} {
		rep, err := cl.Call(context.Background(), "dep", method, nil, bus.CallOptions{})
		if err != nil || rep.Status != string(want) {
			t.Errorf("%s: got %+v, %v; want %s", method, rep, err, want)
		}
	}
}
