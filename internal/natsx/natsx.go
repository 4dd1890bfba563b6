// Package natsx holds the NATS side shared by the notification service and
// the gateway: connecting to a NATS server (when no URL is configured, the
// one already listening on the embed address, or else one embedded with
// JetStream), the subject scheme, and the
// JetStream streams.
//
// Subjects and streams (with an empty Config.Prefix):
//
//	notify.user.<user id>   one user's notifications   stream NOTIFY
//	events.<event type>     events mirrored from RabbitMQ   stream EVENTS
//
// NOTIFY keeps up to MaxMsgsPerSubject messages per user for NotifyMaxAge
// (SSE/WebSocket clients resume from it after Last-Event-ID); publishers
// set Nats-Msg-Id (the notification or event id) so a republish within the
// duplicate window is stored once. A non-empty Prefix ("oct_ab12") makes the
// streams "oct_ab12_NOTIFY"/"oct_ab12_EVENTS" and the subjects
// "oct_ab12.notify.user.<id>"/"oct_ab12.events.<type>", so tests share one
// server without seeing each other.
package natsx

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config configures the NATS connection (flags under "nats.").
type Config struct {
	// URL of the NATS server(s), comma separated (nats.url). Empty means:
	// use the NATS server already listening on EmbedAddr, or else embed a
	// server with JetStream in this process (one log line says which).
	URL string
	// Name is the client connection name shown by the server.
	Name string
	// Prefix namespaces streams and subjects (nats.prefix); empty in
	// production.
	Prefix string
	// EmbedAddr is where the embedded server listens for other processes
	// (nats.embed-addr); port 0 picks a free one (logged).
	EmbedAddr string
	// EmbedStoreDir is the embedded JetStream store (nats.embed-store-dir);
	// empty means a fresh temporary directory removed on close.
	EmbedStoreDir string
	// Streams sizes the JetStream streams.
	Streams StreamConfig
}

// StreamConfig sizes the streams made by EnsureStreams.
type StreamConfig struct {
	// NotifyMaxAge is how long a notification stays replayable.
	NotifyMaxAge time.Duration
	// NotifyMaxPerUser bounds the replayable notifications per user.
	NotifyMaxPerUser int64
	// EventsMaxAge is how long a mirrored event stays in EVENTS.
	EventsMaxAge time.Duration
	// EventsMaxBytes bounds the EVENTS stream (oldest dropped first).
	EventsMaxBytes int64
	// DuplicateWindow is how long a Nats-Msg-Id is remembered.
	DuplicateWindow time.Duration
	// Replicas of each stream (1 on a single server).
	Replicas int
}

// DefaultConfig returns the defaults RegisterFlags sets.
func DefaultConfig() Config {
	return Config{
		Name:      "opencommerce",
		EmbedAddr: "127.0.0.1:4222",
		Streams: StreamConfig{
			NotifyMaxAge:     24 * time.Hour,
			NotifyMaxPerUser: 1000,
			EventsMaxAge:     24 * time.Hour,
			EventsMaxBytes:   1 << 30,
			DuplicateWindow:  2 * time.Minute,
			Replicas:         1,
		},
	}
}

// RegisterFlags registers the nats.* flags on fs with DefaultConfig's
// values.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	d := DefaultConfig()
	fs.StringVar(&c.URL, "nats.url", "", "NATS server URL(s), comma separated; empty uses a NATS server already listening on nats.embed-addr, or else embeds one with JetStream in this process")
	fs.StringVar(&c.Name, "nats.connection-name", d.Name, "NATS client connection name")
	fs.StringVar(&c.Prefix, "nats.prefix", "", "namespace for NATS streams and subjects (tests); empty in production")
	fs.StringVar(&c.EmbedAddr, "nats.embed-addr", d.EmbedAddr, "listen address of the embedded NATS server (when nats.url is empty); port 0 picks one")
	fs.StringVar(&c.EmbedStoreDir, "nats.embed-store-dir", "", "JetStream store of the embedded server; empty means a temporary directory")
	fs.DurationVar(&c.Streams.NotifyMaxAge, "nats.notify-max-age", d.Streams.NotifyMaxAge, "how long notifications stay replayable in the NOTIFY stream")
	fs.Int64Var(&c.Streams.NotifyMaxPerUser, "nats.notify-max-per-user", d.Streams.NotifyMaxPerUser, "replayable notifications kept per user")
	fs.DurationVar(&c.Streams.EventsMaxAge, "nats.events-max-age", d.Streams.EventsMaxAge, "how long mirrored events stay in the EVENTS stream")
	fs.Int64Var(&c.Streams.EventsMaxBytes, "nats.events-max-bytes", d.Streams.EventsMaxBytes, "size bound of the EVENTS stream")
	fs.DurationVar(&c.Streams.DuplicateWindow, "nats.duplicate-window", d.Streams.DuplicateWindow, "how long JetStream remembers a Nats-Msg-Id")
	fs.IntVar(&c.Streams.Replicas, "nats.replicas", d.Streams.Replicas, "replicas of each JetStream stream")
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	for _, r := range c.Prefix {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("nats.prefix %q: only letters, digits, - and _ (it is part of stream names)", c.Prefix)
		}
	}
	if c.URL == "" {
		if _, _, err := net.SplitHostPort(c.EmbedAddr); err != nil {
			return fmt.Errorf("nats.embed-addr %q: %v", c.EmbedAddr, err)
		}
	}
	s := c.Streams.withDefaults()
	if s.NotifyMaxAge <= 0 || s.EventsMaxAge <= 0 || s.NotifyMaxPerUser <= 0 || s.EventsMaxBytes <= 0 || s.DuplicateWindow <= 0 || s.Replicas <= 0 {
		return errors.New("nats stream limits must be positive")
	}
	return nil
}

func (s StreamConfig) withDefaults() StreamConfig {
	d := DefaultConfig().Streams
	if s.NotifyMaxAge == 0 {
		s.NotifyMaxAge = d.NotifyMaxAge
	}
	if s.NotifyMaxPerUser == 0 {
		s.NotifyMaxPerUser = d.NotifyMaxPerUser
	}
	if s.EventsMaxAge == 0 {
		s.EventsMaxAge = d.EventsMaxAge
	}
	if s.EventsMaxBytes == 0 {
		s.EventsMaxBytes = d.EventsMaxBytes
	}
	if s.DuplicateWindow == 0 {
		s.DuplicateWindow = d.DuplicateWindow
	}
	if s.Replicas == 0 {
		s.Replicas = d.Replicas
	}
	return s
}

// Scheme returns the subject and stream names of c.Prefix.
func (c Config) Scheme() Scheme { return Scheme{Prefix: c.Prefix} }

// Scheme names the subjects and streams. The zero Scheme is production's.
type Scheme struct {
	Prefix string
}

func (s Scheme) subj(rest string) string {
	if s.Prefix == "" {
		return rest
	}
	return s.Prefix + "." + rest
}

func (s Scheme) stream(name string) string {
	if s.Prefix == "" {
		return name
	}
	return s.Prefix + "_" + name
}

// NotifyStream is the stream of user notifications ("NOTIFY").
func (s Scheme) NotifyStream() string { return s.stream("NOTIFY") }

// EventsStream is the stream of mirrored events ("EVENTS").
func (s Scheme) EventsStream() string { return s.stream("EVENTS") }

// UserSubject is the subject of userID's notifications
// ("notify.user.<id>"). It fails for an id that is not one plain subject
// token, so nobody can subscribe to a wildcard or another user's subject
// through a crafted id.
func (s Scheme) UserSubject(userID string) (string, error) {
	if !validToken(userID) {
		return "", fmt.Errorf("natsx: user id %q is not a subject token", userID)
	}
	return s.subj("notify.user." + userID), nil
}

// EventSubject is the subject an event of eventType is mirrored to
// ("events.<type>"); the type's dots become subject levels, so edge
// consumers can filter "events.product.>". It fails for a type with empty
// levels, wildcards or whitespace.
func (s Scheme) EventSubject(eventType string) (string, error) {
	if eventType == "" {
		return "", errors.New("natsx: empty event type")
	}
	for _, tok := range strings.Split(eventType, ".") {
		if !validToken(tok) {
			return "", fmt.Errorf("natsx: event type %q is not a subject", eventType)
		}
	}
	return s.subj("events." + eventType), nil
}

// validToken reports whether t is one literal subject token.
func validToken(t string) bool {
	if t == "" || len(t) > 256 {
		return false
	}
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c == '.' || c == '*' || c == '>' || c <= ' ' || c == 0x7f:
			return false
		}
	}
	return true
}

// EnsureStreams creates or updates the NOTIFY and EVENTS streams of scheme
// with limits (zero fields take the defaults). It is idempotent and safe to
// run from every process at start.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, scheme Scheme, limits StreamConfig) error {
	l := limits.withDefaults()
	streams := []jetstream.StreamConfig{{
		Name:              scheme.NotifyStream(),
		Description:       "per-user notifications for SSE/WebSocket replay",
		Subjects:          []string{scheme.subj("notify.user.*")},
		Storage:           jetstream.FileStorage,
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		MaxAge:            l.NotifyMaxAge,
		MaxMsgsPerSubject: l.NotifyMaxPerUser,
		Duplicates:        l.DuplicateWindow,
		Replicas:          l.Replicas,
	}, {
		Name:        scheme.EventsStream(),
		Description: "domain events mirrored from RabbitMQ for edge consumers",
		Subjects:    []string{scheme.subj("events.>")},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      l.EventsMaxAge,
		MaxBytes:    l.EventsMaxBytes,
		Duplicates:  l.DuplicateWindow,
		Replicas:    l.Replicas,
	}}
	for _, sc := range streams {
		if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("natsx: stream %s: %w", sc.Name, err)
		}
	}
	return nil
}

// Embedded is a NATS server with JetStream running in this process.
type Embedded struct {
	Server  *server.Server
	tempDir string
}

// StartEmbedded starts a NATS server with JetStream listening on addr
// ("127.0.0.1:0" picks a free port) and storing in storeDir (empty: a
// temporary directory removed by Shutdown). It returns once the server
// accepts connections.
func StartEmbedded(addr, storeDir string, log *slog.Logger) (*Embedded, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("natsx: embed address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("natsx: embed port %q: %w", portStr, err)
	}
	if port == 0 {
		port = -1 // nats-server's "random port"
	}
	e := &Embedded{}
	if storeDir == "" {
		dir, err := os.MkdirTemp("", "oc-nats-*")
		if err != nil {
			return nil, err
		}
		storeDir, e.tempDir = dir, dir
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "oc-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   storeDir,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		e.cleanup()
		return nil, fmt.Errorf("natsx: embedded server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(15 * time.Second) {
		ns.Shutdown()
		e.cleanup()
		return nil, fmt.Errorf("natsx: embedded server on %s not ready: is the port in use? (if a NATS server already runs there, set -nats.url instead)", addr)
	}
	e.Server = ns
	if log != nil {
		log.Info("embedded NATS server started", "url", ns.ClientURL(), "store", storeDir)
	}
	return e, nil
}

// URL is the client URL other processes connect to.
func (e *Embedded) URL() string { return e.Server.ClientURL() }

// Shutdown stops the server and removes a temporary store.
func (e *Embedded) Shutdown() {
	e.Server.Shutdown()
	e.Server.WaitForShutdown()
	e.cleanup()
}

func (e *Embedded) cleanup() {
	if e.tempDir != "" {
		_ = os.RemoveAll(e.tempDir)
	}
}

// Connect connects to cfg.URL, or embeds a server (StartEmbedded on
// cfg.EmbedAddr) and connects in process when cfg.URL is empty, then makes
// sure the streams exist. The connection reconnects forever; closeFn
// drains it and stops an embedded server. With an embedded server other
// processes may connect to the address logged at start.
func Connect(ctx context.Context, cfg Config, log *slog.Logger) (*nats.Conn, jetstream.JetStream, func(), error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, nil, err
	}
	log = log.With("component", "nats")
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("NATS reconnected", "url", nc.ConnectedUrl()) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			log.Warn("NATS async error", "subject", subj, "err", err)
		}),
	}
	var emb *Embedded
	url := cfg.URL
	if url == "" {
		found, err := probeNATS(cfg.EmbedAddr)
		switch {
		case err != nil:
			return nil, nil, nil, err
		case found:
			url = "nats://" + cfg.EmbedAddr
			log.Info("using the NATS server already listening on the embed address; set -nats.url to choose one", "url", url)
		default:
			emb, err = StartEmbedded(cfg.EmbedAddr, cfg.EmbedStoreDir, log)
			if err != nil {
				return nil, nil, nil, err
			}
			opts = append(opts, nats.InProcessServer(emb.Server))
		}
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		if emb != nil {
			emb.Shutdown()
		}
		return nil, nil, nil, fmt.Errorf("natsx: connect %q: %w", url, err)
	}
	closeFn := func() {
		_ = nc.Drain()
		nc.Close()
		if emb != nil {
			emb.Shutdown()
		}
	}
	js, err := jetstream.New(nc)
	if err != nil {
		closeFn()
		return nil, nil, nil, err
	}
	if err := EnsureStreams(ctx, js, cfg.Scheme(), cfg.Streams); err != nil {
		closeFn()
		return nil, nil, nil, err
	}
	return nc, js, closeFn, nil
}

// probeNATS reports whether a NATS server already listens on addr (it
// greets every client with an INFO line). Nothing listening is (false,
// nil); something else listening is an error naming the address, since an
// embedded server could not take the port either. Port 0 is never probed.
func probeNATS(addr string) (bool, error) {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "0" {
		return false, nil
	}
	conn, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false, nil
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err == nil && strings.HasPrefix(line, "INFO ") {
		return true, nil
	}
	return false, fmt.Errorf("natsx: %s is in use by something that is not a NATS server: set -nats.embed-addr to a free address (port 0 picks one) or -nats.url to a NATS server", addr)
}

// Ready returns a readiness check for app.Health: the connection is up.
func Ready(nc *nats.Conn) func(context.Context) error {
	return func(context.Context) error {
		if s := nc.Status(); s != nats.CONNECTED {
			return fmt.Errorf("nats: %s", s)
		}
		return nil
	}
}
