package demo

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// TestNoGatewayFailsAtOnce: without a gateway the demo says so at once
// instead of retrying for half a minute.
func TestNoGatewayFailsAtOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, run := range []func(context.Context, Config) error{
		func(ctx context.Context, c Config) error { _, err := Seed(ctx, c); return err },
		func(ctx context.Context, c Config) error { _, err := Remove(ctx, c); return err },
	} {
		err := run(ctx, Config{Gateway: "http://" + addr, AdminEmail: "a@example.com", AdminPassword: "x"})
		if err == nil || !strings.Contains(err.Error(), "no gateway answers") {
			t.Errorf("want a no-gateway error, got %v", err)
		}
	}
	if _, err := Seed(ctx, Config{Gateway: "http://" + addr}); err == nil || !strings.Contains(err.Error(), "admin account is required") {
		t.Errorf("without admin credentials: %v", err)
	}
}

func TestSlug(t *testing.T) {
	if got := slug("Organic Cotton T-Shirt"); got != "organic-cotton-t-shirt" {
		t.Errorf("slug: %q", got)
	}
}
