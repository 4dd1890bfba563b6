package pg_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/pg"
)

type orderPlaced struct {
	OrderID string `json:"order_id"`
	UserID  string `json:"user_id"`
	Total   int64  `json:"total"`
}

var benchData = orderPlaced{OrderID: "0190a8a0-0000-7000-8000-000000000001", UserID: "0190a8a0-0000-7000-8000-000000000002", Total: 129900}

// BenchmarkAddEventCommit: one transaction per event (begin, AddEvent,
// commit), as a service's write path adds to its own transaction.
func BenchmarkAddEventCommit(b *testing.B) {
	pool := openTestDB(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		err := pg.InTx(ctx, pool, func(tx pgx.Tx) error {
			_, err := pg.AddEvent(ctx, tx, "order.placed", benchData)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddEventCommitParallel: the same with GOMAXPROCS*4 concurrent
// writers.
func BenchmarkAddEventCommitParallel(b *testing.B) {
	pool := openTestDB(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			err := pg.InTx(ctx, pool, func(tx pgx.Tx) error {
				_, err := pg.AddEvent(ctx, tx, "order.placed", benchData)
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

type countingPublisher struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (p *countingPublisher) Publish(ctx context.Context, ev contracts.Event) error {
	if p.n.Add(1) == p.want {
		close(p.done)
	}
	return nil
}

// BenchmarkRelay measures the relay's own cost per event (claim, decode,
// mark) with a publisher that confirms at once: the ceiling a broker's
// confirm latency then lowers.
func BenchmarkRelay(b *testing.B) {
	pool := openTestDB(b)
	ctx := context.Background()
	n := b.N
	err := pg.InTx(ctx, pool, func(tx pgx.Tx) error {
		for range n {
			if _, err := pg.AddEvent(ctx, tx, "order.placed", benchData); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	pub := &countingPublisher{want: int64(n), done: make(chan struct{})}
	b.ReportAllocs()
	b.ResetTimer()
	r := pg.NewRelay(pool, pub, pg.RelayConfig{Service: "bench"}, nil, nil)
	if err := r.Start(ctx); err != nil {
		b.Fatal(err)
	}
	<-pub.done
	b.StopTimer()
	_ = r.Shutdown(ctx)
}

// BenchmarkNotifyCost isolates what NOTIFY costs a committing writer:
// PostgreSQL serialises the commits of notifying transactions (a global
// lock held through the commit's WAL flush). Same insert, with and without
// pg_notify, 8 writers per core.
func BenchmarkNotifyCost(b *testing.B) {
	for _, bc := range []struct{ name, sql string }{
		{"insert", `INSERT INTO oc_outbox (id, type, payload) VALUES (gen_random_uuid(), 'x', '{}')`},
		{"insert+notify", `WITH ins AS (INSERT INTO oc_outbox (id, type, payload) VALUES (gen_random_uuid(), 'x', '{}')) SELECT pg_notify('oc_outbox', '')`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			pool := openTestDB(b)
			ctx := context.Background()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := pool.Exec(ctx, bc.sql); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
