package edge_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/edge"
)

// BenchmarkHandlerRouting drives the whole handler on requests where
// routing is a large share of the work: cache hits on a path with a
// parameter and on a static path, a 404 and a 405. cpu-ns/op is the
// process's CPU time per request, steadier than ns/op on a shared machine
// (BENCHMARKS.md,
// "Routing", runs it against the build before fasthttp/router).
//
//	go test ./edge -run '^$' -bench HandlerRouting -count 6
func BenchmarkHandlerRouting(b *testing.B) {
	for _, bc := range []struct{ name, method, uri string }{
		{"cached-product", "GET", "/api/v1/products/" + productID},
		{"cached-categories", "GET", "/api/v1/categories"},
		{"not-found", "GET", "/api/v1/no/such/route"},
		{"method-not-allowed", "PUT", "/api/v1/categories"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := edge.Defaults()
			cfg.RateDefault, cfg.RateSearch = "off", "off"
			g, err := edge.New(cfg, edge.Deps{RPC: staticRPC{reviewsBody}})
			if err != nil {
				b.Fatal(err)
			}
			var ctx fasthttp.RequestCtx
			ctx.Request.Header.SetMethod(bc.method)
			ctx.Request.SetRequestURI(bc.uri)
			g.Handler(&ctx) // fill the cache
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				ctx.Response.Reset()
				g.Handler(&ctx)
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
