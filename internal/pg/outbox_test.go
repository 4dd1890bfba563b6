package pg_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/internal/telemetry/telemetrytest"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// recorder is an EventPublisher that records what it published. fail, when
// set, decides per call whether to fail.
type recorder struct {
	mu     sync.Mutex
	events []contracts.Event
	calls  int
	fail   func(call int, ev contracts.Event) error
}

func (r *recorder) Publish(ctx context.Context, ev contracts.Event) error {
	r.mu.Lock()
	r.calls++
	call, fail := r.calls, r.fail
	r.mu.Unlock()
	if fail != nil {
		if err := fail(call, ev); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	return nil
}

func (r *recorder) setFail(f func(call int, ev contracts.Event) error) {
	r.mu.Lock()
	r.fail = f
	r.mu.Unlock()
}

func (r *recorder) published() []contracts.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func (r *recorder) callCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// countByID returns how many times each event id was published.
func (r *recorder) countByID() map[string]int {
	m := map[string]int{}
	for _, ev := range r.published() {
		m[ev.ID]++
	}
	return m
}

var errBrokerDown = errors.New("broker down")

// addEvents commits n events, one transaction each, and returns them.
func addEvents(tb testing.TB, pool *pgxpool.Pool, n int) []contracts.Event {
	tb.Helper()
	ctx := ctxT(tb)
	out := make([]contracts.Event, 0, n)
	for i := range n {
		err := pg.InTx(ctx, pool, func(tx pgx.Tx) error {
			ev, err := pg.AddEvent(ctx, tx, "order.placed", map[string]any{"n": i})
			out = append(out, ev)
			return err
		})
		if err != nil {
			tb.Fatalf("add event: %v", err)
		}
	}
	return out
}

func unpublished(tb testing.TB, pool *pgxpool.Pool) int {
	tb.Helper()
	var n int
	if err := pool.QueryRow(ctxT(tb), "SELECT count(*) FROM oc_outbox WHERE published_at IS NULL").Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// fastCfg polls rarely, so tests see the LISTEN path and the start-up
// drain, and backs off briefly.
func fastCfg() pg.RelayConfig {
	return pg.RelayConfig{
		Service:       "test",
		PollInterval:  time.Hour,
		MinBackoff:    5 * time.Millisecond,
		MaxBackoff:    50 * time.Millisecond,
		StatsInterval: 20 * time.Millisecond,
	}
}

func startRelay(tb testing.TB, pool *pgxpool.Pool, pub pg.EventPublisher, cfg pg.RelayConfig, reg prometheus.Registerer) *pg.Relay {
	tb.Helper()
	r := pg.NewRelay(pool, pub, cfg, nil, reg)
	if err := r.Start(ctxT(tb)); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Shutdown(ctx)
	})
	return r
}

func TestAddEventStoresFullEventAndRollsBack(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	pool := openTestDB(t)

	var ev contracts.Event
	err := pg.InTx(ctx, pool, func(tx pgx.Tx) error {
		var err error
		ev, err = pg.AddEvent(ctx, tx, "product.created", struct {
			ID string `json:"id"`
		}{"p1"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID == "" || ev.Type != "product.created" || string(ev.Data) != `{"id":"p1"}` || ev.OccurredAt.IsZero() {
		t.Fatalf("event = %+v", ev)
	}
	var payload []byte
	if err := pool.QueryRow(ctx, "SELECT payload FROM oc_outbox WHERE id = $1", ev.ID).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(ev)
	if string(payload) != string(want) {
		t.Fatalf("payload = %s, want %s", payload, want)
	}

	// A rolled-back transaction leaves no event.
	_ = pg.InTx(ctx, pool, func(tx pgx.Tx) error {
		if _, err := pg.AddEvent(ctx, tx, "product.created", nil); err != nil {
			return err
		}
		return errors.New("abort")
	})
	if n := unpublished(t, pool); n != 1 {
		t.Fatalf("outbox rows = %d, want 1", n)
	}

	for _, tc := range []struct {
		typ  string
		data any
	}{
		{"", nil},
		{"order.*", nil},
		{"order placed", nil},
		{"order.placed", json.RawMessage(`{"broken"`)},
		{"order.placed", make(chan int)},
	} {
		err := pg.InTx(ctx, pool, func(tx pgx.Tx) error {
			_, err := pg.AddEvent(ctx, tx, tc.typ, tc.data)
			return err
		})
		if contracts.ErrorCode(err) != contracts.CodeInvalidArgument {
			t.Errorf("AddEvent(%q, %T): err = %v, want invalid_argument", tc.typ, tc.data, err)
		}
	}
}

// The process stops between commit and publish; after restart the event is
// published.
func TestOutboxPublishesAfterRestart(t *testing.T) {
	t.Parallel()
	pool := openTestDB(t)

	// 1. Events committed while no relay runs at all.
	before := addEvents(t, pool, 3)

	// 2. A relay whose broker is down: it tries, fails, keeps the rows,
	// and is stopped.
	down := &recorder{fail: func(int, contracts.Event) error { return errBrokerDown }}
	r1 := pg.NewRelay(pool, down, fastCfg(), nil, nil)
	if err := r1.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "a failed publish attempt", func() bool { return down.callCount() >= 2 })
	during := addEvents(t, pool, 2)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := r1.Shutdown(sctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	cancel()
	if n := unpublished(t, pool); n != 5 {
		t.Fatalf("unpublished after failed relay = %d, want 5", n)
	}

	// 3. A relay stopped mid-batch: it confirms two events, then the
	// broker hangs until shutdown gives up.
	hang := &recorder{}
	hang.fail = func(call int, ev contracts.Event) error {
		if call <= 2 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
		return errBrokerDown
	}
	r2 := pg.NewRelay(pool, hang, fastCfg(), nil, nil)
	if err := r2.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "two confirmed publishes", func() bool { return len(hang.published()) >= 2 && hang.callCount() >= 3 })
	sctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	_ = r2.Shutdown(sctx) // gives up: ctx too short for a flush
	cancel()

	// 4. Restart with a working broker: every event is published and
	// marked.
	rec := &recorder{}
	startRelay(t, pool, rec, fastCfg(), nil)
	all := append(before, during...)
	testenv.Eventually(t, "every event published", func() bool { return unpublished(t, pool) == 0 })
	got := rec.countByID()
	for _, ev := range hang.published() {
		got[ev.ID]++
	}
	for _, ev := range all {
		if got[ev.ID] < 1 {
			t.Errorf("event %s never published", ev.ID)
		}
	}
	// The two events r2 confirmed were marked although its shutdown ctx
	// ended: the restarted relay does not publish them again.
	for _, ev := range hang.published() {
		if got[ev.ID] != 1 {
			t.Errorf("event %s published %d times, want 1", ev.ID, got[ev.ID])
		}
	}
	// The full envelope arrives unchanged.
	byID := map[string]contracts.Event{}
	for _, ev := range append(rec.published(), hang.published()...) {
		byID[ev.ID] = ev
	}
	for _, ev := range all {
		p := byID[ev.ID]
		if p.Type != ev.Type || string(p.Data) != string(ev.Data) || !p.OccurredAt.Equal(ev.OccurredAt) {
			t.Errorf("published %+v, want %+v", p, ev)
		}
	}
}

func TestOutboxListenWakesRelay(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	pool := openTestDB(t)
	rec := &recorder{}
	// Polling once an hour: only NOTIFY can deliver within the test.
	startRelay(t, pool, rec, fastCfg(), nil)

	ev := addEvents(t, pool, 1)[0]
	testenv.Eventually(t, "delivery woken by NOTIFY", func() bool { return rec.countByID()[ev.ID] == 1 })

	// Kill the listener's connection; the relay reconnects and LISTENs
	// again.
	listeners := func() (pids []int32) {
		rows, err := pool.Query(ctx, `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'LISTEN oc_outbox' AND pid <> pg_backend_pid()`)
		if err != nil {
			t.Fatal(err)
		}
		pids, err = pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			t.Fatal(err)
		}
		return pids
	}
	old := listeners()
	if len(old) != 1 {
		t.Fatalf("listener sessions = %v, want 1", old)
	}
	if _, err := pool.Exec(ctx, "SELECT pg_terminate_backend($1)", old[0]); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "a new listener session", func() bool {
		pids := listeners()
		return len(pids) == 1 && pids[0] != old[0]
	})
	ev2 := addEvents(t, pool, 1)[0]
	testenv.Eventually(t, "delivery after the listener reconnected", func() bool { return rec.countByID()[ev2.ID] == 1 })
}

func TestOutboxPublisherFailureKeepsRowsAndRetriesInOrder(t *testing.T) {
	t.Parallel()
	pool := openTestDB(t)
	reg := prometheus.NewPedanticRegistry()
	rec := &recorder{}
	rec.fail = func(int, contracts.Event) error { return errBrokerDown }
	cfg := fastCfg()
	cfg.Service = "ordersvc"
	cfg.BatchSize = 4 // several batches
	startRelay(t, pool, rec, cfg, reg)

	events := addEvents(t, pool, 10)
	testenv.Eventually(t, "pending gauge", func() bool {
		return telemetrytest.Value(t, reg, "oc_outbox_pending", map[string]string{"service": "ordersvc"}) == 10
	})
	testenv.Eventually(t, "lag gauge", func() bool {
		return telemetrytest.Value(t, reg, "oc_outbox_lag_seconds", map[string]string{"service": "ordersvc"}) > 0
	})
	if n := unpublished(t, pool); n != 10 {
		t.Fatalf("unpublished while the broker is down = %d, want 10", n)
	}
	if len(rec.published()) != 0 {
		t.Fatal("published while failing")
	}

	// The broker comes back, flaky: every third call fails.
	rec.setFail(func(call int, ev contracts.Event) error {
		if call%3 == 0 {
			return errBrokerDown
		}
		return nil
	})
	testenv.Eventually(t, "all published", func() bool { return unpublished(t, pool) == 0 })
	got := rec.published()
	if len(got) != len(events) {
		t.Fatalf("published %d events, want %d (each once)", len(got), len(events))
	}
	// One relay never overtakes a failed event: creation order holds.
	for i := range events {
		if got[i].ID != events[i].ID {
			t.Fatalf("publish order differs at %d: got %s, want %s", i, got[i].ID, events[i].ID)
		}
	}
	testenv.Eventually(t, "gauges back to zero", func() bool {
		return telemetrytest.Value(t, reg, "oc_outbox_pending", map[string]string{"service": "ordersvc"}) == 0 && telemetrytest.Value(t, reg, "oc_outbox_lag_seconds", map[string]string{"service": "ordersvc"}) == 0
	})
	if n := telemetrytest.Value(t, reg, "oc_outbox_publish_errors_total", nil); n == 0 {
		t.Fatal("publish errors not counted")
	}
}

// Several relays (instances) on one outbox: every event is published, and,
// with no relay dying between confirm and commit, exactly once (row locks
// with SKIP LOCKED give each event to one relay).
func TestOutboxConcurrentRelays(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	pool := openTestDB(t)
	cfg := fastCfg()
	cfg.BatchSize = 7
	cfg.PollInterval = 20 * time.Millisecond
	recs := make([]*recorder, 3)
	for i := range recs {
		recs[i] = &recorder{}
		// Each relay on its own pool, as separate instances would be.
		p, err := pgxpool.New(ctx, pool.Config().ConnString())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		startRelay(t, p, recs[i], cfg, nil)
	}

	const writers, each = 4, 50
	var wg sync.WaitGroup
	ids := make(chan string, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				err := pg.InTx(ctx, pool, func(tx pgx.Tx) error {
					ev, err := pg.AddEvent(ctx, tx, "order.placed", fmt.Sprintf(`{"w":%d,"i":%d}`, w, i))
					if err == nil {
						ids <- ev.ID
					}
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(ids)
	testenv.Eventually(t, "all published", func() bool { return unpublished(t, pool) == 0 })

	count := map[string]int{}
	active := 0
	for _, r := range recs {
		if len(r.published()) > 0 {
			active++
		}
		for id, n := range r.countByID() {
			count[id] += n
		}
	}
	for id := range ids {
		if count[id] != 1 {
			t.Errorf("event %s published %d times, want 1", id, count[id])
		}
	}
	if len(count) != writers*each {
		t.Errorf("distinct events published = %d, want %d", len(count), writers*each)
	}
	t.Logf("relays that published: %d of %d", active, len(recs))
}

func TestOutboxShutdownFlushes(t *testing.T) {
	t.Parallel()
	pool := openTestDB(t)
	rec := &recorder{}
	block := make(chan struct{})
	rec.fail = func(call int, ev contracts.Event) error {
		if call == 1 {
			<-block // the first publish is slow
		}
		return nil
	}
	cfg := fastCfg()
	cfg.BatchSize = 1
	r := pg.NewRelay(pool, rec, cfg, nil, nil)
	if err := r.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	events := addEvents(t, pool, 5)
	testenv.Eventually(t, "first publish started", func() bool { return rec.callCount() >= 1 })
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- r.Shutdown(ctx)
	}()
	close(block)
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if n := unpublished(t, pool); n != 0 {
		t.Fatalf("unpublished after shutdown = %d, want 0", n)
	}
	if got := len(rec.published()); got != len(events) {
		t.Fatalf("published %d, want %d", got, len(events))
	}
	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
}

func TestPurge(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	pool := openTestDB(t)
	events := addEvents(t, pool, 3)
	// Two published long ago, one pending.
	if _, err := pool.Exec(ctx, "UPDATE oc_outbox SET published_at = now() - interval '2 days' WHERE id = ANY($1)",
		[]string{events[0].ID, events[1].ID}); err != nil {
		t.Fatal(err)
	}
	n, err := pg.PurgeOutbox(ctx, pool, 24*time.Hour, 0)
	if err != nil || n != 2 {
		t.Fatalf("purged %d, %v; want 2", n, err)
	}
	if n, err := pg.PurgeOutbox(ctx, pool, 0, 0); err != nil || n != 0 {
		t.Fatalf("purged %d, %v; pending rows must stay", n, err)
	}
	if unpublished(t, pool) != 1 {
		t.Fatal("pending event lost")
	}

	if _, err := pool.Exec(ctx, `INSERT INTO oc_inbox (consumer, event_id, handled_at) VALUES
		('c', 'old', now() - interval '30 days'), ('c', 'new', now())`); err != nil {
		t.Fatal(err)
	}
	if n, err := pg.PurgeInbox(ctx, pool, 7*24*time.Hour, 0); err != nil || n != 1 {
		t.Fatalf("inbox purged %d, %v; want 1", n, err)
	}
}

func TestRelayConfigValidate(t *testing.T) {
	if err := (pg.RelayConfig{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	for _, c := range []pg.RelayConfig{
		{BatchSize: -1},
		{BatchSize: 100000},
		{PollInterval: -time.Second},
		{MinBackoff: time.Minute, MaxBackoff: time.Second},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: want error", c)
		}
	}
}

// The relays of several services in one process share a registry.
func TestRelaysShareRegistry(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	for _, svc := range []string{"order", "product"} {
		pg.NewRelay(nil, &recorder{}, pg.RelayConfig{Service: svc}, nil, reg)
	}
	for _, svc := range []string{"order", "product"} {
		if v := telemetrytest.Value(t, reg, "oc_outbox_pending", map[string]string{"service": svc}); v != 0 {
			t.Errorf("oc_outbox_pending{service=%q} = %v, want 0 (registered)", svc, v)
		}
	}
}
