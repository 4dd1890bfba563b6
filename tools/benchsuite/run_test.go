package benchsuite_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/tools/benchsuite"
)

// A tiny whole run in process with a direct seed: every figure, the
// product-row baseline among them, has requests and no errors.
func TestRunDirectSeed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole platform")
	}
	s := benchsuite.DefaultServers()
	s.PGURL, s.AMQPURL, s.AMQPAdmin = testenv.PGURL, testenv.AMQPURL, testenv.AMQPAdmin
	s.RedisURL = "redis://" + testenv.RedisAddr + "/0"
	s.NATSURL = testenv.NATSURL
	_ = testenv.PG(t)
	_, _ = testenv.Redis(t)
	_, _ = testenv.NATS(t)
	var progress bytes.Buffer
	res, err := benchsuite.Run(context.Background(), benchsuite.Options{
		Servers: s, Duration: 900 * time.Millisecond, InFlight: 4, CheckoutInFlight: 2,
		Products: 300, Seed: benchsuite.SeedDirect, Progress: &progress,
		ExtraEnv: []string{"OC_USER_ARGON2_MEMORY_KIB=1024", "OC_USER_ARGON2_TIME=1", "OC_LOG_LEVEL=warn"},
	})
	if err != nil {
		if strings.Contains(err.Error(), "management API") {
			testenv.Unavailable(t, "RabbitMQ management API", err)
		}
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	var out bytes.Buffer
	res.Format(&out)
	t.Logf("\n%s", out.String())
	if res.Seed != benchsuite.SeedDirect || !strings.Contains(out.String(), "300 products seeded (direct") {
		t.Errorf("seed %q not reported", res.Seed)
	}
	names := map[string]benchsuite.Figure{}
	for _, f := range append(append([]benchsuite.Figure(nil), res.Baselines...), res.Platform...) {
		names[f.Name] = f
	}
	for _, n := range []string{benchsuite.BareHTTP, benchsuite.BareRPC, benchsuite.BarePG, benchsuite.BareProductRow,
		benchsuite.ProductCached, benchsuite.ProductUncached, benchsuite.Search, benchsuite.CheckoutPaid} {
		f, ok := names[n]
		if !ok {
			t.Errorf("no figure %q", n)
			continue
		}
		if f.Requests == 0 || f.Errors != 0 || f.PerSec <= 0 {
			t.Errorf("%s: %d requests, %d errors, %.0f/s", n, f.Requests, f.Errors, f.PerSec)
		}
	}
	if f := names[benchsuite.BareProductRow]; !strings.Contains(f.What, "product database") {
		t.Errorf("product-row figure says %q", f.What)
	}
}

func TestRunRefusesAnUnknownSeed(t *testing.T) {
	if _, err := benchsuite.Run(context.Background(), benchsuite.Options{Seed: "bulk"}); err == nil || !strings.Contains(err.Error(), "bulk") {
		t.Fatalf("seed \"bulk\": %v", err)
	}
}
