package bus_test

import (
	"context"
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
