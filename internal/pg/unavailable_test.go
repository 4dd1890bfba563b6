package pg_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// TestDatabaseOutageIsUnavailable: a pool whose every connection is busy
// gives up waiting after pg.acquire-timeout, well before the caller's own
// deadline, and a server that cannot be reached fails at once; both are
// classified unavailable (the caller may retry), while the server's
// answers to bad queries and the caller's own cancellation are not.
func TestDatabaseOutageIsUnavailable(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(testenv.PG(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	u.Host = proxy.Addr()
	cfg := pg.DefaultConfig()
	cfg.URL, cfg.MaxConns, cfg.MinConns, cfg.AcquireTimeout = u.String(), 1, 0, 200*time.Millisecond
	pool, err := pg.Open(ctxT(t), cfg, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	// The caller allows a minute; the saturated pool answers at the acquire timeout.
	held, err := pool.Acquire(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = pool.Exec(ctxT(t), "SELECT 1")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("query on a saturated pool: %v, want the acquire timeout", err)
	}
	if ce := pg.Unavailable(err); ce == nil || ce.Code != contracts.CodeUnavailable {
		t.Fatalf("saturated pool classified %v, want unavailable", ce)
	}
	held.Release()

	// Server answers are not outages.
	for _, q := range []string{"SELEC 1", "SELECT 1/0"} {
		_, err := pool.Exec(ctxT(t), q)
		if err == nil || pg.Unavailable(err) != nil {
			t.Fatalf("%q: %v classified unavailable", q, err)
		}
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := pool.Exec(canceled, "SELECT 1"); err == nil || pg.Unavailable(err) != nil {
		t.Fatalf("the caller's cancellation: %v classified unavailable", err)
	}
	if pg.Unavailable(errors.New("a bug")) != nil || pg.Unavailable(nil) != nil {
		t.Fatal("a plain error classified unavailable")
	}

	// The server unreachable: the pooled connection broken, new ones refused.
	proxy.Cut()
	for i := range 3 { // the broken pooled connection, then new connections
		_, err := pool.Exec(ctxT(t), "SELECT 1")
		if ce := pg.Unavailable(err); err == nil || ce == nil || ce.Code != contracts.CodeUnavailable {
			t.Fatalf("query %d with the server unreachable: %v classified %v, want unavailable", i, err, ce)
		}
	}
	proxy.Restore()
	testenv.Eventually(t, "queries succeeding once the server is reachable", func() bool {
		_, err := pool.Exec(ctxT(t), "SELECT 1")
		return err == nil
	})
}
