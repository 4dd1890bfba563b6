// Package benchrpc measures RPC round trips through internal/bus against a
// bare amqp091-go echo with the same settings (prefetch, Direct Reply-To,
// separate client and server connections), so the layer's overhead is a
// ratio. Run is called by the `make bench` driver; BenchmarkRPC wraps it
// for `go test -bench`.
package benchrpc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Modes measured by Run, in order.
const (
	ModeBare      = "bare-amqp091"
	ModeBusDirect = "bus-direct"
	ModeBusQueue  = "bus-queue"
	// ModeBusQueueSync is ModeBusQueue with bus.Config.SyncWrites: every
	// publish its own socket write, as amqp091-go does alone. Against
	// ModeBusQueue it shows what write coalescing buys.
	ModeBusQueueSync = "bus-queue-sync-writes"
)

// Result is one measurement.
type Result struct {
	Mode     string
	InFlight int
	Calls    int
	Errors   int
	PerSec   float64
	P50, P99 time.Duration
}

// Prefetch is the server prefetch of every mode.
const Prefetch = 256

// Payload is the request body: about 300 bytes of JSON, like a typical
// catalogue request.
var Payload = []byte(`{"params":{"id":["0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"]},"body":{"name":"Stainless steel water bottle","description":"Keeps drinks cold for 24 hours and hot for 12.","price":{"amount":2499,"currency":"USD"},"category_id":"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"},"meta":{"client_ip":"127.0.0.1"}}`)

// Caller makes one round trip.
type Caller func(ctx context.Context) error

// Target is a started echo server plus a client calling it.
type Target struct {
	// Call sends Payload and waits for the echo.
	Call Caller
	// Echo sends body and returns the reply's body.
	Echo  func(ctx context.Context, body []byte) ([]byte, error)
	Close func()
}

func newTarget(echo func(context.Context, []byte) ([]byte, error), close func()) *Target {
	return &Target{
		Call:  func(ctx context.Context) error { _, err := echo(ctx, Payload); return err },
		Echo:  echo,
		Close: close,
	}
}

// Setup starts the echo server and client of mode on amqpURL.
func Setup(ctx context.Context, amqpURL, mode string) (*Target, error) {
	service := "bench-" + randHex()
	switch mode {
	case ModeBare:
		return setupBare(amqpURL, service)
	case ModeBusDirect:
		return setupBus(ctx, amqpURL, service, bus.ReplyDirect, false)
	case ModeBusQueue:
		return setupBus(ctx, amqpURL, service, bus.ReplyQueue, false)
	case ModeBusQueueSync:
		return setupBus(ctx, amqpURL, service, bus.ReplyQueue, true)
	}
	return nil, errors.New("unknown mode " + mode)
}

func randHex() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Run measures every mode at every in-flight count for dur each. Modes
// are interleaved at each concurrency so that load from elsewhere on the
// machine hits them alike.
func Run(ctx context.Context, amqpURL string, inflight []int, dur time.Duration) ([]Result, error) {
	modes := []string{ModeBare, ModeBusDirect, ModeBusQueue, ModeBusQueueSync}
	targets := make([]*Target, 0, len(modes))
	defer func() {
		for _, tg := range targets {
			tg.Close()
		}
	}()
	for _, mode := range modes {
		tg, err := Setup(ctx, amqpURL, mode)
		if err != nil {
			return nil, err
		}
		targets = append(targets, tg)
		// Warm up the connections and the broker's channel processes.
		Measure(ctx, tg.Call, 16, 300*time.Millisecond, 0)
	}
	// Each (mode, concurrency) gets dur in Rounds interleaved slices, and
	// its result pools them, so a burst of load elsewhere on the machine
	// does not land on one mode only.
	var out []Result
	for _, n := range inflight {
		accs := make([]*acc, len(targets))
		for range Rounds {
			for i, tg := range targets {
				if accs[i] == nil {
					accs[i] = &acc{}
				}
				lat, errs, elapsed := measure(ctx, tg.Call, n, dur/Rounds, 0)
				accs[i].lat = append(accs[i].lat, lat...)
				accs[i].errs += errs
				accs[i].elapsed += elapsed
			}
		}
		for i, a := range accs {
			r := summarize(a.lat, a.errs, a.elapsed)
			r.Mode, r.InFlight = modes[i], n
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b Result) int {
		return slices.Index(modes, a.Mode) - slices.Index(modes, b.Mode)
	})
	return out, nil
}

// Rounds is how many interleaved slices Run splits each measurement into.
//
// Other work on this shared 2-core machine comes in bursts of a few
// seconds; with 3 slices of 2 s a burst landed on one mode and moved a
// ratio by ±30% between runs. Slices of about half a second (6 s per mode)
// spread the bursts over every mode.
const Rounds = 12

type acc struct {
	lat     []time.Duration
	errs    int
	elapsed time.Duration
}

// Measure keeps n calls in flight for dur (or until calls reach maxCalls
// when it is positive) and returns the throughput and latency percentiles.
func Measure(ctx context.Context, call Caller, n int, dur time.Duration, maxCalls int) Result {
	lat, errs, elapsed := measure(ctx, call, n, dur, maxCalls)
	r := summarize(lat, errs, elapsed)
	r.InFlight = n
	return r
}

func measure(ctx context.Context, call Caller, n int, dur time.Duration, maxCalls int) ([]time.Duration, int, time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	var wg sync.WaitGroup
	var issued atomic.Int64
	lat := make([][]time.Duration, n)
	errs := make([]int, n)
	start := time.Now()
	for w := range n {
		wg.Go(func() {
			l := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
				if maxCalls > 0 && issued.Add(1) > int64(maxCalls) {
					break
				}
				cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
				t0 := time.Now()
				err := call(cctx)
				ccancel()
				if err != nil {
					errs[w]++
					continue
				}
				l = append(l, time.Since(t0))
			}
			lat[w] = l
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	nerr := 0
	for w := range n {
		all = append(all, lat[w]...)
		nerr += errs[w]
	}
	return all, nerr, elapsed
}

func summarize(all []time.Duration, errs int, elapsed time.Duration) Result {
	slices.Sort(all)
	r := Result{Calls: len(all), Errors: errs}
	if len(all) > 0 {
		r.P50 = all[len(all)/2]
		r.P99 = all[len(all)*99/100]
	}
	if elapsed > 0 {
		r.PerSec = float64(r.Calls) / elapsed.Seconds()
	}
	return r
}

func setupBus(ctx context.Context, url, service string, path bus.ReplyPath, syncWrites bool) (*Target, error) {
	log := slog.New(slog.DiscardHandler)
	sc, err := bus.Dial(ctx, bus.Config{URL: url, Name: "bench-server", SyncWrites: syncWrites}, log, nil)
	if err != nil {
		return nil, err
	}
	cc, err := bus.Dial(ctx, bus.Config{URL: url, Name: "bench-client", SyncWrites: syncWrites}, log, nil)
	if err != nil {
		_ = sc.Close()
		return nil, err
	}
	srv := bus.NewServer(sc, bus.ServerConfig{Service: service, Prefetch: Prefetch}, log, nil)
	srv.Handle("bench.echo", func(ctx context.Context, req *bus.Request) (any, error) { return req.Body, nil })
	if err := srv.Start(ctx); err != nil {
		_ = sc.Close()
		_ = cc.Close()
		return nil, err
	}
	cl, err := bus.NewClient(cc, bus.ClientConfig{ReplyPath: path}, log, nil)
	if err != nil {
		return nil, err
	}
	return newTarget(
		func(ctx context.Context, body []byte) ([]byte, error) {
			rep, err := cl.Call(ctx, service, "bench.echo", body, bus.CallOptions{})
			if err == nil && !rep.OK() {
				err = rep.Err()
			}
			return rep.Body, err
		},
		func() {
			_ = srv.Shutdown(context.Background())
			_ = cl.Close()
			if ch, err := sc.Channel(context.Background()); err == nil {
				_, _ = ch.QueueDelete(contracts.RPCQueue(service), false, false, false)
				_ = ch.Close()
			}
			_ = sc.Close()
			_ = cc.Close()
		},
	), nil
}

// setupBare is the baseline: the least code amqp091-go needs for the same
// exchange of messages (one channel each side, Direct Reply-To, prefetch,
// ack after reply).
func setupBare(url, service string) (*Target, error) {
	sconn, err := amqp.Dial(url)
	if err != nil {
		return nil, err
	}
	cconn, err := amqp.Dial(url)
	if err != nil {
		_ = sconn.Close()
		return nil, err
	}
	fail := func(err error) (*Target, error) {
		_ = sconn.Close()
		_ = cconn.Close()
		return nil, err
	}
	sch, err := sconn.Channel()
	if err != nil {
		return fail(err)
	}
	q := contracts.RPCQueue(service)
	if err := sch.ExchangeDeclare(contracts.RPCExchange, "direct", true, false, false, false, nil); err != nil {
		return fail(err)
	}
	if _, err := sch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		return fail(err)
	}
	if err := sch.QueueBind(q, service, contracts.RPCExchange, false, nil); err != nil {
		return fail(err)
	}
	if err := sch.Qos(Prefetch, 0, false); err != nil {
		return fail(err)
	}
	reqs, err := sch.Consume(q, "", false, false, false, false, nil)
	if err != nil {
		return fail(err)
	}
	for range 64 {
		go func() {
			for d := range reqs {
				_ = sch.Publish("", d.ReplyTo, false, false, amqp.Publishing{
					CorrelationId: d.CorrelationId, Body: d.Body,
					Headers: amqp.Table{contracts.HeaderStatus: contracts.StatusOK},
				})
				_ = d.Ack(false)
			}
		}()
	}
	cch, err := cconn.Channel()
	if err != nil {
		return fail(err)
	}
	replies, err := cch.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
	if err != nil {
		return fail(err)
	}
	var mu sync.Mutex
	pending := map[string]chan []byte{}
	go func() {
		for d := range replies {
			mu.Lock()
			c := pending[d.CorrelationId]
			delete(pending, d.CorrelationId)
			mu.Unlock()
			if c != nil {
				c <- d.Body
			}
		}
	}()
	var seq atomic.Uint64
	return newTarget(
		func(ctx context.Context, body []byte) ([]byte, error) {
			id := strconv.FormatUint(seq.Add(1), 36)
			c := make(chan []byte, 1)
			mu.Lock()
			pending[id] = c
			mu.Unlock()
			if err := cch.Publish(contracts.RPCExchange, service, false, false, amqp.Publishing{
				CorrelationId: id, ReplyTo: "amq.rabbitmq.reply-to", Type: "bench.echo", Body: body,
			}); err != nil {
				return nil, err
			}
			select {
			case b := <-c:
				return b, nil
			case <-ctx.Done():
				mu.Lock()
				delete(pending, id)
				mu.Unlock()
				return nil, ctx.Err()
			}
		},
		func() {
			_, _ = sch.QueueDelete(q, false, false, false)
			_ = sconn.Close()
			_ = cconn.Close()
		},
	), nil
}

// Table formats results as a Markdown table with each bus mode's ratio to
// the bare baseline at the same concurrency.
func Table(res []Result) string {
	bare := map[int]float64{}
	for _, r := range res {
		if r.Mode == ModeBare {
			bare[r.InFlight] = r.PerSec
		}
	}
	var b strings.Builder
	b.WriteString("| mode | in flight | calls/s | p50 | p99 | vs bare | errors |\n|---|---|---|---|---|---|---|\n")
	for _, r := range res {
		ratio := "—"
		if base := bare[r.InFlight]; base > 0 && r.Mode != ModeBare {
			ratio = strconv.FormatFloat(r.PerSec/base, 'f', 2, 64)
		}
		fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %s | %s | %d |\n", r.Mode, r.InFlight, r.PerSec,
			r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), ratio, r.Errors)
	}
	return b.String()
}
