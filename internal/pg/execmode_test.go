package pg_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// Every exec mode (simple_protocol is what PgBouncer in transaction mode
// needs) runs migrations, the outbox and the inbox.
func TestExecModes(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"cache_statement", "cache_describe", "describe_exec", "exec", "simple_protocol"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			cfg := pg.DefaultConfig()
			cfg.URL = testenv.PG(t)
			cfg.ExecMode = mode
			pool, err := pg.Open(ctx, cfg, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			if err := pg.Migrate(ctx, pool, sqlFS(map[string]string{"0001_t.sql": "CREATE TABLE t (n int); INSERT INTO t VALUES (0);"})); err != nil {
				t.Fatal(err)
			}
			var ev contracts.Event
			if err := pg.InTx(ctx, pool, func(tx pgx.Tx) error {
				ev, err = pg.AddEvent(ctx, tx, "t.changed", map[string]int{"n": 1})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			rec := &recorder{}
			startRelay(t, pool, rec, fastCfg(), nil)
			testenv.Eventually(t, "published", func() bool { return unpublished(t, pool) == 0 })
			if got := rec.published(); len(got) != 1 || got[0].ID != ev.ID || string(got[0].Data) != `{"n":1}` {
				t.Fatalf("published %+v, want %+v", got, ev)
			}
			if _, err := pg.PurgeOutbox(ctx, pool, 0, 0); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := pg.HandleOnce(ctx, pool, "c", ev, func(tx pgx.Tx) error {
					_, err := tx.Exec(ctx, "UPDATE t SET n = n + 1")
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
			var n int
			if err := pool.QueryRow(ctx, "SELECT n FROM t").Scan(&n); err != nil || n != 1 {
				t.Fatalf("n = %d, %v; want 1", n, err)
			}
		})
	}
}
