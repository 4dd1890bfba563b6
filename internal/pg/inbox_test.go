package pg_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func balance(tb testing.TB, pool *pgxpool.Pool) int {
	tb.Helper()
	var n int
	if err := pool.QueryRow(ctxT(tb), "SELECT n FROM balance").Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

func inboxDB(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool := openTestDB(tb)
	if _, err := pool.Exec(ctxT(tb), "CREATE TABLE balance (n int NOT NULL); INSERT INTO balance VALUES (0)"); err != nil {
		tb.Fatal(err)
	}
	return pool
}

func TestHandleOnceAppliesEffectOnce(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	pool := inboxDB(t)
	consumer := testenv.Name("consumer")
	ev := contracts.Event{ID: "0190a8a0-0000-7000-8000-000000000001", Type: "order.paid", OccurredAt: time.Now()}
	apply := func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE balance SET n = n + 10")
		return err
	}
	for range 3 {
		if err := pg.HandleOnce(ctx, pool, consumer, ev, apply); err != nil {
			t.Fatal(err)
		}
	}
	if got := balance(t, pool); got != 10 {
		t.Fatalf("balance = %d, want 10 (effect applied once)", got)
	}
	if d := testutil.ToFloat64(pg.InboxDuplicates(consumer)); d != 2 {
		t.Fatalf("duplicates = %v, want 2", d)
	}
	// Another consumer of the same event has its own record.
	if err := pg.HandleOnce(ctx, pool, consumer+"-other", ev, apply); err != nil {
		t.Fatal(err)
	}
	if got := balance(t, pool); got != 20 {
		t.Fatalf("balance = %d, want 20", got)
	}
}

func TestHandleOnceErrorRecordsNothing(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	pool := inboxDB(t)
	ev := contracts.Event{ID: "e1", Type: "order.paid"}
	boom := errors.New("downstream unavailable")
	err := pg.HandleOnce(ctx, pool, "c", ev, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE balance SET n = n + 10"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the handler's error", err)
	}
	if got := balance(t, pool); got != 0 {
		t.Fatalf("balance = %d after a failed handler, want 0", got)
	}
	// The redelivery applies the effect.
	called := false
	if err := pg.HandleOnce(ctx, pool, "c", ev, func(tx pgx.Tx) error {
		called = true
		_, err := tx.Exec(ctx, "UPDATE balance SET n = n + 10")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !called || balance(t, pool) != 10 {
		t.Fatalf("retry: called=%v balance=%d, want true and 10", called, balance(t, pool))
	}
}

func TestHandleOnceConcurrentDeliveries(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	pool := inboxDB(t)
	ev := contracts.Event{ID: "e-concurrent", Type: "order.paid"}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			err := pg.HandleOnce(ctx, pool, "c", ev, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, "UPDATE balance SET n = n + 10")
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := balance(t, pool); got != 10 {
		t.Fatalf("balance = %d, want 10", got)
	}
}

func TestHandleOnceRejectsBadInput(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	pool := inboxDB(t)
	never := func(pgx.Tx) error { t.Error("handler called"); return nil }
	for _, tc := range []struct {
		consumer string
		id       string
	}{{"", "e"}, {"c", ""}, {"c", string(make([]byte, 201))}} {
		err := pg.HandleOnce(ctx, pool, tc.consumer, contracts.Event{ID: tc.id}, never)
		if contracts.ErrorCode(err) != contracts.CodeInvalidArgument {
			t.Errorf("consumer=%q len(id)=%d: err = %v, want invalid_argument", tc.consumer, len(tc.id), err)
		}
	}
}
