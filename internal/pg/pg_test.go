package pg_test

import (
	"context"
	"errors"
	"flag"
	"io/fs"
	"os"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

func ctxT(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// openTestDB returns a pool on a fresh database (testenv.PG), migrated with
// pg's own migrations only.
func openTestDB(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	cfg := pg.DefaultConfig()
	cfg.URL = testenv.PG(tb)
	pool, err := pg.Open(ctxT(tb), cfg, "", nil)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(pool.Close)
	if err := pg.Migrate(ctxT(tb), pool, nil); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return pool
}

func TestOpenCreatesMissingDatabase(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	server := testenv.PGURL
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		testenv.Unavailable(t, "PostgreSQL", err)
	}
	db := testenv.Name("octopen")
	t.Cleanup(func() {
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", db, err)
		}
	})

	cfg := pg.DefaultConfig()
	cfg.URL = server
	// Several instances starting at once all try to create it.
	var wg sync.WaitGroup
	pools := make([]*pgxpool.Pool, 4)
	errs := make([]error, 4)
	for i := range pools {
		wg.Go(func() { pools[i], errs[i] = pg.Open(ctx, cfg, db, nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		defer pools[i].Close()
	}
	var got string
	if err := pools[0].QueryRow(ctx, "SELECT current_database()").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != db {
		t.Fatalf("connected to %q, want %q", got, db)
	}
	if err := pg.Ready(pools[0])(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
	pools[0].Close()
	if err := pg.Ready(pools[0])(ctx); err == nil {
		t.Fatal("ready on a closed pool: want error")
	}
}

func TestOpenRejectsBadInput(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	good := pg.DefaultConfig()
	for _, tc := range []struct {
		name string
		cfg  func(c *pg.Config)
		db   string
	}{
		{"quote in name", func(*pg.Config) {}, `x"; DROP DATABASE postgres; --`},
		{"upper case", func(*pg.Config) {}, "Orders"},
		{"too long", func(*pg.Config) {}, "a234567890123456789012345678901234567890123456789012345678901234"},
		{"leading digit", func(*pg.Config) {}, "1db"},
		{"no url", func(c *pg.Config) { c.URL = "" }, "x"},
		{"bad url", func(c *pg.Config) { c.URL = "postgres://%zz" }, "x"},
		{"zero max conns", func(c *pg.Config) { c.MaxConns = 0 }, "x"},
		{"min above max", func(c *pg.Config) { c.MinConns = 20; c.MaxConns = 2 }, "x"},
		{"exec mode", func(c *pg.Config) { c.ExecMode = "fast" }, "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.cfg(&cfg)
			if pool, err := pg.Open(ctx, cfg, tc.db, nil); err == nil {
				pool.Close()
				t.Fatal("want error")
			}
		})
	}
}

func sqlFS(files map[string]string) fs.FS {
	m := fstest.MapFS{}
	for name, body := range files {
		m[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return m
}

func TestMigrateAppliesOnceInOrder(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	pool := openTestDB(t)
	fsys := os.DirFS("testdata/m1")
	for range 3 {
		if err := pg.Migrate(ctx, pool, fsys); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	// 0001 inserts a row: applied more than once it would fail (duplicate
	// key) or leave two rows.
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM widgets").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("widgets rows = %d, want 1", n)
	}
	rows, err := pool.Query(ctx, "SELECT component, version, name FROM oc_schema_migrations ORDER BY component, version")
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		Component string
		Version   int64
		Name      string
	}
	recs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[rec])
	if err != nil {
		t.Fatal(err)
	}
	want := []rec{{"pg", 1, "0001_outbox_inbox.sql"}, {"service", 1, "0001_widgets.sql"}, {"service", 2, "0002_gadgets.sql"}}
	if len(recs) != len(want) {
		t.Fatalf("records = %v, want %v", recs, want)
	}
	for i := range want {
		if recs[i] != want[i] {
			t.Fatalf("records = %v, want %v", recs, want)
		}
	}
	// The runtime tables exist.
	for _, table := range []string{"oc_outbox", "oc_inbox"} {
		if _, err := pool.Exec(ctx, "SELECT 1 FROM "+table+" LIMIT 1"); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
	}
}

func TestMigrateConcurrentPools(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	url := testenv.PG(t)
	cfg := pg.DefaultConfig()
	cfg.URL = url
	fsys := os.DirFS("testdata/m1")
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		pool, err := pg.Open(ctx, cfg, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		wg.Go(func() { errs[i] = pg.Migrate(ctx, pool, fsys) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("migrate %d: %v", i, err)
		}
	}
	pool, err := pg.Open(ctx, cfg, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var widgets, records int
	if err := pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM widgets), (SELECT count(*) FROM oc_schema_migrations)").Scan(&widgets, &records); err != nil {
		t.Fatal(err)
	}
	if widgets != 1 || records != 3 {
		t.Fatalf("widgets=%d records=%d, want 1 and 3", widgets, records)
	}
}

func TestMigrateRefusesChangedChecksum(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	pool := openTestDB(t)
	v1 := sqlFS(map[string]string{"0001_a.sql": "CREATE TABLE a (id int);"})
	if err := pg.Migrate(ctx, pool, v1); err != nil {
		t.Fatal(err)
	}
	v2 := sqlFS(map[string]string{
		"0001_a.sql": "CREATE TABLE a (id bigint);",
		"0002_b.sql": "CREATE TABLE b (id int);",
	})
	err := pg.Migrate(ctx, pool, v2)
	if !errors.Is(err, pg.ErrMigrationChanged) {
		t.Fatalf("err = %v, want ErrMigrationChanged", err)
	}
	// Nothing after the refused file ran.
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('b') IS NOT NULL").Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatal("0002 applied despite the changed 0001")
	}
	// The pool still works: the failed migrator's session (with its lock)
	// was not returned to the pool.
	if err := pg.Migrate(ctx, pool, v1); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
}

func TestMigrateRejectsBadFilesAndRollsBackFailures(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	pool := openTestDB(t)
	for _, tc := range []struct {
		name  string
		files map[string]string
	}{
		{"bad name", map[string]string{"init.sql": "SELECT 1"}},
		{"duplicate version", map[string]string{"0001_a.sql": "SELECT 1", "001_b.sql": "SELECT 1"}},
		{"failing sql", map[string]string{"0001_a.sql": "CREATE TABLE half (id int); SELECT * FROM missing_table;"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := pg.Migrate(ctx, pool, sqlFS(tc.files)); err == nil {
				t.Fatal("want error")
			}
		})
	}
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('half') IS NOT NULL").Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatal("a failed migration left its table behind")
	}
	if err := pg.Migrate(ctx, pool, sqlFS(map[string]string{"0001_a.sql": "CREATE TABLE half (id int);", "README.md": "ignored"})); err != nil {
		t.Fatalf("fixed migration: %v", err)
	}
}

func TestInTxRetriesSerializationFailures(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	pool := openTestDB(t)
	if _, err := pool.Exec(ctx, "CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counter VALUES (1, 0)"); err != nil {
		t.Fatal(err)
	}
	// Concurrent serializable read-modify-write transactions conflict; with
	// retries every increment lands exactly once.
	const workers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Go(func() {
			for range each {
				errs <- pg.InTxWith(ctx, pool, pgx.TxOptions{IsoLevel: pgx.Serializable}, func(tx pgx.Tx) error {
					var n int
					if err := tx.QueryRow(ctx, "SELECT n FROM counter WHERE id = 1").Scan(&n); err != nil {
						return err
					}
					_, err := tx.Exec(ctx, "UPDATE counter SET n = $1 WHERE id = 1", n+1)
					return err
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		if err == nil {
			ok++
		} else if !pg.Retryable(err) {
			t.Fatalf("unexpected error: %v", err)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT n FROM counter WHERE id = 1").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != ok {
		t.Fatalf("counter = %d, successful transactions = %d", n, ok)
	}
	if ok < workers*each/2 {
		t.Fatalf("only %d of %d transactions succeeded despite retries", ok, workers*each)
	}

	// An error from fn rolls back and is returned as is.
	sentinel := errors.New("no")
	err := pg.InTx(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE counter SET n = -1"); err != nil {
			return err
		}
		return sentinel
	})
	if !errors.Is(err, sentinel) {
		t.Fatalf("err = %v", err)
	}
	if err := pool.QueryRow(ctx, "SELECT n FROM counter WHERE id = 1").Scan(&n); err != nil || n == -1 {
		t.Fatalf("rolled back update visible: n=%d err=%v", n, err)
	}
}

func TestConfigFlags(t *testing.T) {
	var cfg pg.Config
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	if cfg != pg.DefaultConfig() {
		t.Fatalf("RegisterFlags defaults %+v differ from DefaultConfig", cfg)
	}
	if cfg.URL != pg.DefaultURL || cfg.MaxConns < 1 {
		t.Fatalf("defaults = %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if err := fs.Parse([]string{"-pg.url=postgres://u@db:5433/maint", "-pg.max-conns=32", "-pg.exec-mode=simple_protocol"}); err != nil {
		t.Fatal(err)
	}
	if cfg.URL != "postgres://u@db:5433/maint" || cfg.MaxConns != 32 || cfg.ExecMode != "simple_protocol" {
		t.Fatalf("parsed = %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"-pg.max-conns=99999999999"}); err == nil {
		t.Fatal("int32 overflow accepted")
	}
}
