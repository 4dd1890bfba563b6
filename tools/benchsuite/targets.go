package benchsuite

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os/exec"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/tools/benchrpc"
	"github.com/opencommerce/opencommerce/tools/edgebench"
	"github.com/opencommerce/opencommerce/tools/loadgen"
)

// httpOp makes an op of one gateway (or bare server) request per call.
func httpOp(cl *loadgen.Client, call func(w int) loadgen.Call) func(context.Context, int) (time.Duration, bool) {
	return func(ctx context.Context, w int) (time.Duration, bool) {
		r := cl.Do(ctx, call(w))
		return r.Latency, r.OK()
	}
}

// ServeBareHTTP serves the bare fasthttp baseline on ln until it fails:
// every request gets edgebench.Body as JSON. The bench runs it in a
// subprocess (opencommerce bench-serve), so that, like the gateway, it does
// not share the load driver's Go runtime.
func ServeBareHTTP(ln net.Listener) error {
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentType("application/json")
		ctx.Response.SetBodyRaw(edgebench.Body)
	}, NoDefaultServerHeader: true}
	return s.Serve(ln)
}

func bareHTTP(ctx context.Context, opt Options, _ *Env) (*target, error) {
	var addr string
	var stop func()
	if opt.Binary != "" {
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(opt.Binary, "bench-serve", "-addr", a)
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		stop = func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if c, err := net.Dial("tcp", a); err == nil {
				_ = c.Close()
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				stop()
				return nil, fmt.Errorf("bench-serve did not listen on %s", a)
			}
		}
		addr = a
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		go func() { _ = ServeBareHTTP(ln) }()
		addr, stop = ln.Addr().String(), func() { _ = ln.Close() }
	}
	cl, err := loadgen.NewClient("http://"+addr+"/api/v1", opt.InFlight, 10*time.Second, nil)
	if err != nil {
		stop()
		return nil, err
	}
	where := "in a process of its own"
	if opt.Binary == "" {
		where = "in the bench's process"
	}
	return &target{
		name: BareHTTP, inFlight: opt.InFlight,
		what:  fmt.Sprintf("a fasthttp handler answering %d bytes of JSON (%s), same client and connections as the gateway figures", len(edgebench.Body), where),
		op:    httpOp(cl, func(int) loadgen.Call { return loadgen.Call{Method: "GET", Path: "/products/x"} }),
		close: stop,
	}, nil
}

func bareRPC(ctx context.Context, opt Options, env *Env) (*target, error) {
	tg, err := benchrpc.Setup(ctx, env.AMQPURL, benchrpc.ModeBare)
	if err != nil {
		return nil, fmt.Errorf("RPC echo: %w", err)
	}
	return &target{
		name: BareRPC, inFlight: opt.InFlight,
		what: "amqp091-go request/reply through the broker to an echo consumer (Direct Reply-To, prefetch 256, ~300-byte body; tools/benchrpc)",
		op: func(ctx context.Context, _ int) (time.Duration, bool) {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			t0 := time.Now()
			err := tg.Call(cctx)
			return time.Since(t0), err == nil
		},
		close: tg.Close,
	}, nil
}

// pgRows is the size of the baseline's temporary table.
const pgRows = 10_000

func barePG(ctx context.Context, opt Options, env *Env) (*target, error) {
	cfg, err := pgxpool.ParseConfig(env.Servers.PGURL)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(opt.InFlight)
	cfg.MinConns = int32(opt.InFlight)
	// Temporary tables live per connection: each makes and fills its own.
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `CREATE TEMP TABLE bench_items (id bigint PRIMARY KEY, name text NOT NULL, price bigint NOT NULL);
			INSERT INTO bench_items SELECT i, 'item ' || i, i * 7 FROM generate_series(1, `+fmt.Sprint(pgRows)+`) i;
			ANALYZE bench_items`)
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return &target{
		name: BarePG, inFlight: opt.InFlight,
		what: fmt.Sprintf("pgx pool (%d connections), SELECT of one row by primary key from a %d-row temporary table", opt.InFlight, pgRows),
		op: func(ctx context.Context, _ int) (time.Duration, bool) {
			t0 := time.Now()
			var name string
			var price int64
			err := pool.QueryRow(ctx, `SELECT name, price FROM bench_items WHERE id = $1`, 1+rand.Int64N(pgRows)).Scan(&name, &price)
			return time.Since(t0), err == nil
		},
		close: pool.Close,
	}, nil
}

// platformTargets are the figures through the running platform's gateway.
func platformTargets(env *Env, opt Options, fx *loadgen.Fixture) ([]*target, error) {
	ids, tokens, terms := fx.ProductIDs(), fx.CustomerTokens(), fx.SearchTerms()
	base := "http://" + env.GatewayAddr + "/api/v1"
	newClient := func(conns int) (*loadgen.Client, error) { return loadgen.NewClient(base, conns, 10*time.Second, nil) }
	cl, err := newClient(opt.InFlight)
	if err != nil {
		return nil, err
	}
	hot := ids[:min(len(ids), 100)]
	cached := &target{
		name: ProductCached, baseline: BareHTTP, inFlight: opt.InFlight, platform: true,
		what: fmt.Sprintf("GET /api/v1/products/{id}, anonymous, over %d products, answered from the gateway's catalogue cache", len(hot)),
		op: httpOp(cl, func(int) loadgen.Call {
			return loadgen.Call{Method: "GET", Path: "/products/" + hot[rand.IntN(len(hot))]}
		}),
	}
	cl2, _ := newClient(opt.InFlight)
	uncached := &target{
		name: ProductUncached, baseline: BareRPC, inFlight: opt.InFlight, platform: true,
		what: fmt.Sprintf("GET /api/v1/products/{id} signed in (the gateway caches only anonymous reads) over all %d products: gateway → RPC → product service (its Redis document cache, then PostgreSQL)", len(ids)),
		op: httpOp(cl2, func(w int) loadgen.Call {
			return loadgen.Call{Method: "GET", Path: "/products/" + ids[rand.IntN(len(ids))], Token: tokens[w%len(tokens)]}
		}),
	}
	cl3, _ := newClient(opt.InFlight)
	search := &target{
		name: Search, baseline: BarePG, inFlight: opt.InFlight, platform: true,
		what: "GET /api/v1/products?q=<word of a product name>&limit=20 signed in (not cached): full-text search in PostgreSQL through the gateway and RPC",
		op: httpOp(cl3, func(w int) loadgen.Call {
			return loadgen.Call{Method: "GET", Path: "/products?limit=20&q=" + url.QueryEscape(terms[rand.IntN(len(terms))]), Token: tokens[w%len(tokens)]}
		}),
	}
	cl4, _ := newClient(opt.CheckoutInFlight * 2)
	checkout := &target{
		name: CheckoutPaid, baseline: BareRPC, inFlight: opt.CheckoutInFlight, platform: true,
		what: "put one item in the cart, POST /api/v1/orders (card 4242…), then poll GET /orders/{id} every 2 ms until paid; latency from the POST to paid seen, rate in paid orders/s",
		op: func(ctx context.Context, w int) (time.Duration, bool) {
			tok := tokens[w%len(tokens)]
			if r := cl4.Do(ctx, loadgen.Call{Method: "PUT", Path: "/cart/items/" + ids[rand.IntN(len(ids))], Token: tok,
				Body: map[string]int{"quantity": 1}}); !r.OK() {
				return r.Latency, false
			}
			t0 := time.Now()
			r := cl4.Do(ctx, loadgen.Call{Method: "POST", Path: "/orders", Token: tok, Idem: uuid.NewString(), Body: checkoutBody})
			var o struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			}
			if !r.OK() || json.Unmarshal(r.Body, &o) != nil || o.ID == "" {
				return time.Since(t0), false
			}
			for deadline := t0.Add(30 * time.Second); time.Now().Before(deadline); {
				if o.Status == "paid" {
					return time.Since(t0), true
				}
				if o.Status == "cancelled" {
					return time.Since(t0), false
				}
				time.Sleep(2 * time.Millisecond)
				r = cl4.Do(ctx, loadgen.Call{Method: "GET", Path: "/orders/" + o.ID, Token: tok})
				if !r.OK() || json.Unmarshal(r.Body, &o) != nil {
					return time.Since(t0), false
				}
			}
			return time.Since(t0), false
		},
	}
	return []*target{cached, uncached, search, checkout}, nil
}

var checkoutBody = []byte(fmt.Sprintf(`{"address":{"name":"Bench","line1":"1 Bench Street","city":"Springfield","postal_code":"12345","country":"US"},`+
	`"payment":{"method":"card","card_number":"4242424242424242","exp_month":12,"exp_year":%d,"cvc":"123"}}`, time.Now().Year()+3))
