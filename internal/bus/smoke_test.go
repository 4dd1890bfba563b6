package bus_test

import (
	"context"
	"testing"

	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/bus/bustest"
)

func TestSmoke(t *testing.T) {
	for _, path := range []bus.ReplyPath{bus.ReplyDirect, bus.ReplyQueue} {
		t.Run(string(path), func(t *testing.T) {
			c, _ := bustest.Conn(t)
			bustest.Serve(t, c, bus.ServerConfig{Service: "echo"}, map[string]bus.Handler{
				"echo.echo": func(ctx context.Context, req *bus.Request) (any, error) { return req.Body, nil },
			})
			cl := bustest.Client(t, c, bus.ClientConfig{ReplyPath: path})
			rep, err := cl.Call(context.Background(), "echo", "echo.echo", []byte(`{"a":1}`), bus.CallOptions{})
			if err != nil || rep.Status != "ok" || string(rep.Body) != `{"a":1}` {
				t.Fatalf("got %+v %v", rep, err)
			}
		})
	}
}
