// Package testenv gives integration tests isolated resources on the real
// servers of the machine: a fresh PostgreSQL database, a fresh RabbitMQ
// vhost, a Redis key prefix, a NATS subject prefix. Each resource is removed
// when the test ends, so tests can run in parallel and twice in a row.
//
// When a server cannot be reached the test is skipped, except under CI=true
// (or OC_REQUIRE_SERVERS=1) where it fails: a skipped integration test in CI
// is a failure.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/opencommerce/opencommerce/internal/bus/amqpadmin"
	"github.com/opencommerce/opencommerce/internal/pg"
)

// Default server addresses; each can be overridden by environment.
var (
	PGURL      = env("OC_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	AMQPURL    = env("OC_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
	AMQPAdmin  = env("OC_TEST_AMQP_ADMIN", "http://guest:guest@127.0.0.1:15672")
	RedisAddr  = env("OC_TEST_REDIS_ADDR", "127.0.0.1:6379")
	NATSURL    = env("OC_TEST_NATS_URL", "nats://127.0.0.1:4222")
	requireAll = os.Getenv("CI") == "true" || os.Getenv("OC_REQUIRE_SERVERS") == "1"
)

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// Unavailable skips the test, or fails it when servers are required.
func Unavailable(tb testing.TB, what string, err error) {
	tb.Helper()
	if requireAll {
		tb.Fatalf("%s is required but unavailable: %v (run scripts/deps.sh)", what, err)
	}
	tb.Skipf("%s unavailable: %v", what, err)
}

// Name returns a unique lower-case name with the given prefix, safe for
// database, vhost, queue and key names.
func Name(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "_" + hex.EncodeToString(b[:])
}

// PG creates a fresh database and returns its URL; the database is dropped
// when the test ends.
func PG(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, PGURL)
	if err != nil {
		Unavailable(tb, "PostgreSQL", err)
	}
	defer conn.Close(ctx)
	db := Name("oct")
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, PGURL)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
	})
	return WithDatabase(PGURL, db)
}

// PGPool opens a pool on a fresh database (PG) migrated with migrations
// (pg's own tables, the outbox and inbox, come with them); both go away
// when the test ends.
func PGPool(tb testing.TB, migrations fs.FS) *pgxpool.Pool {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, PG(tb))
	if err != nil {
		tb.Fatalf("open pool: %v", err)
	}
	tb.Cleanup(pool.Close)
	if err := pg.Migrate(ctx, pool, migrations); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return pool
}

// WithDatabase returns the URL u with its database replaced by db.
func WithDatabase(u, db string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.Path = "/" + db
	return p.String()
}

// AMQP creates a fresh RabbitMQ vhost (through the management API) and
// returns an AMQP URL for it; the vhost is deleted when the test ends.
func AMQP(tb testing.TB) string {
	tb.Helper()
	vhost := Name("oct")
	if err := amqpAdmin(http.MethodPut, "/api/vhosts/"+vhost, ""); err != nil {
		Unavailable(tb, "RabbitMQ management API", err)
	}
	if err := amqpAdmin(http.MethodPut, "/api/permissions/"+vhost+"/guest",
		`{"configure":".*","write":".*","read":".*"}`); err != nil {
		tb.Fatalf("set vhost permissions: %v", err)
	}
	tb.Cleanup(func() { _ = amqpAdmin(http.MethodDelete, "/api/vhosts/"+vhost, "") })
	u, _ := url.Parse(AMQPURL)
	u.Path = "/" + vhost
	return u.String()
}

// VHost returns the vhost of an AMQP URL made by AMQP.
func VHost(amqpURL string) string {
	u, err := url.Parse(amqpURL)
	if err != nil {
		return "/"
	}
	return strings.TrimPrefix(u.Path, "/")
}

// CloseAMQPConnections force-closes every broker connection on vhost, as
// `rabbitmqctl close_connection` does, and returns how many it closed. The
// management API learns of new connections with a delay, so it waits up to
// ten seconds for at least one to show.
func CloseAMQPConnections(tb testing.TB, vhost string) int {
	tb.Helper()
	var conns []struct {
		Name  string `json:"name"`
		VHost string `json:"vhost"`
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if err := amqpAdminJSON("/api/vhosts/"+url.PathEscape(vhost)+"/connections", &conns); err != nil {
			tb.Fatalf("list connections: %v", err)
		}
		if len(conns) > 0 || time.Now().After(deadline) {
			break
		}
	}
	n := 0
	for _, c := range conns {
		if err := amqpAdmin(http.MethodDelete, "/api/connections/"+url.PathEscape(c.Name), ""); err == nil {
			n++
		}
	}
	return n
}

// Redis returns the Redis address and a unique key prefix for the test.
// Keys under the prefix are not removed; callers set expiries or clean up.
func Redis(tb testing.TB) (addr, prefix string) {
	tb.Helper()
	c, err := net.DialTimeout("tcp", RedisAddr, 2*time.Second)
	if err != nil {
		Unavailable(tb, "Redis", err)
	}
	_ = c.Close()
	return RedisAddr, Name("oct") + ":"
}

// NATS returns the NATS URL and a unique subject prefix for the test.
func NATS(tb testing.TB) (natsURL, prefix string) {
	tb.Helper()
	u, _ := url.Parse(NATSURL)
	c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		Unavailable(tb, "NATS", err)
	}
	_ = c.Close()
	anchorOnce.Do(anchorJetStream)
	return NATSURL, Name("oct")
}

// AnchorStream is a JetStream stream the tests create on the machine's NATS
// server and never delete. nats-server removes an account's stream
// directory when its last stream is deleted; a stream created by a
// parallel test at that moment fails ("could not create storage directory").
// With the anchor the account always holds a stream.
const AnchorStream = "OC_TESTENV_ANCHOR"

var anchorOnce sync.Once

// anchorJetStream creates AnchorStream if it is missing. A failure is left
// to the test's own use of NATS to report.
func anchorJetStream() {
	nc, err := nats.Connect(NATSURL, nats.Timeout(5*time.Second))
	if err != nil {
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:     AnchorStream,
		Subjects: []string{"oc_testenv.anchor"},
		Storage:  jetstream.FileStorage,
		MaxMsgs:  1,
	})
}

// FreeAddr returns a free loopback TCP address.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

func amqpAdmin(method, path, body string) error {
	return amqpadmin.Client{URL: AMQPAdmin}.Do(context.Background(), method, path, body)
}

func amqpAdminJSON(path string, v any) error {
	return amqpadmin.Client{URL: AMQPAdmin}.GetJSON(context.Background(), path, v)
}

// Verbose reports whether tests should log at debug level (OC_TEST_LOG=1).
func Verbose() bool { return os.Getenv("OC_TEST_LOG") == "1" }

// DropDatabases drops every database whose name starts with prefix (tests
// that made databases through the platform's own Open, under a unique
// prefix, clean up with it).
func DropDatabases(prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = pg.DropDatabases(ctx, PGURL, prefix)
}
