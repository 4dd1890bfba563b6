package benchsuite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/opencommerce/opencommerce/internal/bus/amqpadmin"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/internal/redisx"
)

// Servers are the shared servers the platform runs on; the suite isolates
// itself on them (a fresh RabbitMQ vhost, its own database prefix, Redis key
// prefix and NATS namespace) and removes what it made.
type Servers struct {
	PGURL     string // server URL; its database is the maintenance database
	AMQPURL   string // the vhost in the path is replaced by a fresh one
	AMQPAdmin string // RabbitMQ management API, with credentials
	RedisURL  string
	NATSURL   string // empty: the platform embeds its own NATS server
}

// DefaultServers are the local servers of a development machine (and CI).
func DefaultServers() Servers {
	return Servers{
		PGURL:     "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		AMQPURL:   "amqp://guest:guest@127.0.0.1:5672/",
		AMQPAdmin: "http://guest:guest@127.0.0.1:15672",
		RedisURL:  "redis://127.0.0.1:6379/0",
		NATSURL:   "nats://127.0.0.1:4222",
	}
}

// RegisterFlags registers the server flags (same names as the platform's,
// so one OC_ environment serves both) with DefaultServers.
func (s *Servers) RegisterFlags(fs *flag.FlagSet) {
	d := DefaultServers()
	fs.StringVar(&s.PGURL, "pg.url", d.PGURL, "PostgreSQL server URL")
	fs.StringVar(&s.AMQPURL, "amqp.url", d.AMQPURL, "RabbitMQ AMQP URL (a fresh vhost replaces its path)")
	fs.StringVar(&s.AMQPAdmin, "amqp.admin-url", d.AMQPAdmin, "RabbitMQ management API URL with credentials (creates and deletes the vhost)")
	fs.StringVar(&s.RedisURL, "redis.url", d.RedisURL, "Redis URL")
	fs.StringVar(&s.NATSURL, "nats.url", d.NATSURL, "NATS URL (empty: the platform embeds NATS)")
}

// Env is one isolated set of resources on the servers, plus free ports and
// an admin account for a platform started on them.
type Env struct {
	Servers       Servers
	Name          string // unique; names the vhost and prefixes
	AMQPURL       string // of the fresh vhost
	DBPrefix      string
	RedisPrefix   string
	NATSPrefix    string
	GatewayAddr   string
	AdminAddr     string
	FileDataAddr  string
	FileDir       string
	AdminEmail    string
	AdminPassword string
}

// NewEnv makes the vhost and picks names and free ports. Close removes
// everything the platform made under them.
func NewEnv(ctx context.Context, s Servers) (*Env, error) {
	var b [5]byte
	_, _ = rand.Read(b[:])
	name := "ocbench_" + hex.EncodeToString(b[:])
	e := &Env{
		Servers: s, Name: name,
		DBPrefix: name + "_", RedisPrefix: name + ":", NATSPrefix: name,
		AdminEmail: "admin@" + strings.ReplaceAll(name, "_", "-") + ".test", AdminPassword: "bench-" + name,
	}
	var err error
	for _, p := range []*string{&e.GatewayAddr, &e.AdminAddr, &e.FileDataAddr} {
		if *p, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	if e.FileDir, err = os.MkdirTemp("", name+"-files-"); err != nil {
		return nil, err
	}
	if err := e.amqpAdmin(ctx, http.MethodPut, "/api/vhosts/"+name, ""); err != nil {
		return nil, fmt.Errorf("create RabbitMQ vhost through the management API: %w", err)
	}
	if err := e.amqpAdmin(ctx, http.MethodPut, "/api/permissions/"+name+"/"+e.amqpUser(), `{"configure":".*","write":".*","read":".*"}`); err != nil {
		_ = e.amqpAdmin(ctx, http.MethodDelete, "/api/vhosts/"+name, "")
		return nil, fmt.Errorf("grant the vhost: %w", err)
	}
	u, err := url.Parse(s.AMQPURL)
	if err != nil {
		return nil, fmt.Errorf("amqp.url: %w", err)
	}
	u.Path = "/" + name
	e.AMQPURL = u.String()
	return e, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (e *Env) amqpUser() string {
	if u, err := url.Parse(e.Servers.AMQPURL); err == nil && u.User != nil {
		return u.User.Username()
	}
	return "guest"
}

var httpc = &http.Client{Timeout: 15 * time.Second}

func (e *Env) amqpAdmin(ctx context.Context, method, path, body string) error {
	return amqpadmin.Client{URL: e.Servers.AMQPAdmin}.Do(ctx, method, path, body)
}

// Environ is the platform's configuration for this Env, as OC_ variables:
// every module on free ports, the fresh vhost, its own databases, keys and
// NATS namespace, the bootstrap admin, and rate limits high enough not to
// throttle a load test from one address.
func (e *Env) Environ() []string {
	high := "1000000/1s:1000000"
	env := []string{
		"OC_TARGET=all",
		"OC_GATEWAY_ADDR=" + e.GatewayAddr,
		"OC_ADMIN_ADDR=" + e.AdminAddr,
		"OC_FILE_DATA_ADDR=" + e.FileDataAddr,
		"OC_FILE_DATA_URL=http://" + e.FileDataAddr,
		"OC_FILE_DIR=" + e.FileDir,
		"OC_AMQP_URL=" + e.AMQPURL,
		"OC_PG_URL=" + e.Servers.PGURL,
		"OC_PG_DATABASE_PREFIX=" + e.DBPrefix,
		"OC_REDIS_URL=" + e.Servers.RedisURL,
		"OC_REDIS_PREFIX=" + e.RedisPrefix,
		"OC_NATS_URL=" + e.Servers.NATSURL,
		"OC_NATS_PREFIX=" + e.NATSPrefix,
		"OC_NATS_EMBED_ADDR=127.0.0.1:0",
		"OC_CONSUL_ADDR=",
		"OC_USER_BOOTSTRAP_ADMIN_EMAIL=" + e.AdminEmail,
		"OC_USER_BOOTSTRAP_ADMIN_PASSWORD=" + e.AdminPassword,
		"OC_USER_LOGIN_IP_FAILURES=1000000",
		"OC_SHUTDOWN_DELAY=0s",
		"OC_SHUTDOWN_TIMEOUT=20s",
	}
	for _, c := range []string{"DEFAULT", "LOGIN", "SEARCH", "CHECKOUT", "UPLOAD"} {
		env = append(env, "OC_GATEWAY_RATE_"+c+"="+high)
	}
	return env
}

// Close removes the vhost, the databases under DBPrefix, the Redis keys
// under RedisPrefix, the NATS streams of NATSPrefix and the file directory.
// It tries everything and joins the errors.
func (e *Env) Close(ctx context.Context) error {
	var errs []error
	if err := e.amqpAdmin(ctx, http.MethodDelete, "/api/vhosts/"+e.Name, ""); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, pg.DropDatabases(ctx, e.Servers.PGURL, e.DBPrefix))
	errs = append(errs, deleteKeys(ctx, e.Servers.RedisURL, e.RedisPrefix))
	if e.Servers.NATSURL != "" {
		errs = append(errs, deleteStreams(ctx, e.Servers.NATSURL, e.NATSPrefix+"_"))
	}
	errs = append(errs, os.RemoveAll(e.FileDir))
	return errors.Join(errs...)
}

func deleteKeys(ctx context.Context, redisURL, prefix string) error {
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	return redisx.DeleteKeys(ctx, rdb, prefix)
}

func deleteStreams(ctx context.Context, natsURL, prefix string) error {
	nc, err := nats.Connect(natsURL, nats.Timeout(3*time.Second))
	if err != nil {
		return fmt.Errorf("delete NATS streams: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	names := js.StreamNames(ctx)
	var del []string
	for n := range names.Name() {
		if strings.HasPrefix(n, prefix) {
			del = append(del, n)
		}
	}
	var errs []error
	for _, n := range del {
		if err := js.DeleteStream(ctx, n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
