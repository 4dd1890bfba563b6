package pg

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/opencommerce/opencommerce/contracts"
	"github.com/prometheus/client_golang/prometheus"
)

// OutboxChannel is the NOTIFY channel AddEvent signals and relays LISTEN on.
// Notifications are scoped to one database, so every service can use it.
const OutboxChannel = "oc_outbox"

// maxEventType bounds an event type (an AMQP routing key is at most 255
// bytes).
const maxEventType = 255

// One round trip: the data-modifying CTE always runs, and pg_notify's
// notification is queued until commit (and dropped on rollback).
const insertEventSQL = `WITH ins AS (INSERT INTO oc_outbox (id, type, payload) VALUES ($1, $2, $3))
SELECT pg_notify('` + OutboxChannel + `', '')`

// AddEvent records an event in oc_outbox within the caller's transaction and
// returns it. data is marshalled to JSON (json.RawMessage and []byte are
// taken as JSON as they are and must be valid). The event gets a UUIDv7 id
// and the current time; the stored payload is the full contracts.Event JSON,
// published byte for byte by a Relay after tx commits. If tx rolls back,
// the event never existed.
//
// eventType must be a routing key such as "order.placed": 1 to 255 bytes of
// letters, digits, '_', '-' and '.', without AMQP wildcards; anything else is
// an invalid_argument *contracts.Error (a programming error in the caller).
func AddEvent(ctx context.Context, tx pgx.Tx, eventType string, data any) (contracts.Event, error) {
	if err := validEventType(eventType); err != nil {
		return contracts.Event{}, err
	}
	var raw json.RawMessage
	switch d := data.(type) {
	case json.RawMessage:
		raw = d
	case []byte:
		raw = d
	default:
		b, err := json.Marshal(data)
		if err != nil {
			return contracts.Event{}, contracts.InvalidArgument("data", "event %s: marshal data: %v", eventType, err)
		}
		raw = b
	}
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	} else if !json.Valid(raw) {
		return contracts.Event{}, contracts.InvalidArgument("data", "event %s: data is not valid JSON", eventType)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return contracts.Event{}, fmt.Errorf("outbox: new event id: %w", err)
	}
	ev := contracts.Event{ID: id.String(), Type: eventType, OccurredAt: time.Now().UTC(), Data: raw}
	payload, err := json.Marshal(ev)
	if err != nil {
		return contracts.Event{}, fmt.Errorf("outbox: marshal event: %w", err)
	}
	// payload goes as a string: in the exec and simple_protocol modes pgx
	// does not know the column is json and would send []byte as bytea.
	if _, err := tx.Exec(ctx, insertEventSQL, pgtype.UUID{Bytes: id, Valid: true}, eventType, string(payload)); err != nil {
		return contracts.Event{}, fmt.Errorf("outbox: add %s: %w", eventType, err)
	}
	return ev, nil
}

func validEventType(t string) error {
	if t == "" || len(t) > maxEventType {
		return contracts.InvalidArgument("type", "event type must be 1 to %d bytes", maxEventType)
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.':
		default:
			return contracts.InvalidArgument("type", "event type %q: only letters, digits, '_', '-' and '.' are allowed", t)
		}
	}
	return nil
}

// EventPublisher publishes one event to the broker. Publish must return nil
// only after the broker confirmed the event (publisher confirms), and must
// be safe to call again with the same event: the relay retries failures and
// may publish an event twice (see the package doc). *bus.Publisher satisfies
// it.
type EventPublisher interface {
	Publish(ctx context.Context, ev contracts.Event) error
}

// RelayConfig tunes a Relay. Zero fields take the defaults RegisterFlags
// sets.
type RelayConfig struct {
	// Service labels the relay's metrics ({service="order"}).
	Service string
	// BatchSize is the number of events claimed per transaction.
	BatchSize int
	// PollInterval is the fallback poll period, for when a notification is
	// lost (the listener connection dropped) or not delivered.
	PollInterval time.Duration
	// MinBackoff and MaxBackoff bound the exponential, jittered wait after a
	// failed publish or database error, and between listener reconnects.
	MinBackoff, MaxBackoff time.Duration
	// PublishTimeout bounds one Publish call.
	PublishTimeout time.Duration
	// Retention is how long published rows stay in oc_outbox (for audit and
	// debugging) before the relay deletes them.
	Retention time.Duration
	// InboxRetention is how long oc_inbox rows are kept; a redelivery older
	// than this is handled as a new event.
	InboxRetention time.Duration
	// PurgeInterval is how often old outbox and inbox rows are purged.
	PurgeInterval time.Duration
	// StatsInterval is how often oc_outbox_pending and
	// oc_outbox_lag_seconds are refreshed.
	StatsInterval time.Duration
}

// RegisterFlags registers the relay's flags, prefixed "outbox." (Service is
// not a flag: it is set by the code that owns the relay).
func (c *RelayConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.BatchSize, "outbox.batch-size", 100, "events claimed per relay transaction")
	fs.DurationVar(&c.PollInterval, "outbox.poll-interval", time.Second, "relay polling fallback period (LISTEN/NOTIFY wakes it sooner)")
	fs.DurationVar(&c.MinBackoff, "outbox.min-backoff", 100*time.Millisecond, "first wait after a failed publish")
	fs.DurationVar(&c.MaxBackoff, "outbox.max-backoff", 30*time.Second, "longest wait after repeated failed publishes")
	fs.DurationVar(&c.PublishTimeout, "outbox.publish-timeout", 10*time.Second, "timeout of one publish (including the broker's confirm)")
	fs.DurationVar(&c.Retention, "outbox.retention", 24*time.Hour, "how long published outbox rows are kept")
	fs.DurationVar(&c.InboxRetention, "inbox.retention", 7*24*time.Hour, "how long handled event ids are remembered for deduplication")
	fs.DurationVar(&c.PurgeInterval, "outbox.purge-interval", 10*time.Minute, "how often old outbox and inbox rows are deleted")
	fs.DurationVar(&c.StatsInterval, "outbox.stats-interval", 5*time.Second, "how often the outbox pending/lag gauges are refreshed")
}

// Validate reports the first invalid field (zero values are valid: they
// mean the default).
func (c RelayConfig) Validate() error {
	if c.BatchSize < 0 || c.BatchSize > 10000 {
		return fmt.Errorf("outbox.batch-size: must be between 1 and 10000, got %d", c.BatchSize)
	}
	for name, d := range map[string]time.Duration{
		"outbox.poll-interval": c.PollInterval, "outbox.min-backoff": c.MinBackoff,
		"outbox.max-backoff": c.MaxBackoff, "outbox.publish-timeout": c.PublishTimeout,
		"outbox.retention": c.Retention, "inbox.retention": c.InboxRetention,
		"outbox.purge-interval": c.PurgeInterval, "outbox.stats-interval": c.StatsInterval,
	} {
		if d < 0 {
			return fmt.Errorf("%s: must not be negative, got %s", name, d)
		}
	}
	if c.MaxBackoff > 0 && c.MinBackoff > c.MaxBackoff {
		return fmt.Errorf("outbox.min-backoff (%s) exceeds outbox.max-backoff (%s)", c.MinBackoff, c.MaxBackoff)
	}
	return nil
}

func (c RelayConfig) withDefaults() RelayConfig {
	var d RelayConfig
	d.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))
	if c.BatchSize <= 0 {
		c.BatchSize = d.BatchSize
	}
	set := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&c.PollInterval, d.PollInterval)
	set(&c.MinBackoff, d.MinBackoff)
	set(&c.MaxBackoff, d.MaxBackoff)
	set(&c.PublishTimeout, d.PublishTimeout)
	set(&c.Retention, d.Retention)
	set(&c.InboxRetention, d.InboxRetention)
	set(&c.PurgeInterval, d.PurgeInterval)
	set(&c.StatsInterval, d.StatsInterval)
	if c.MinBackoff > c.MaxBackoff {
		c.MinBackoff = c.MaxBackoff
	}
	return c
}

// Relay publishes the events of one database's oc_outbox. Several relays
// (one per instance) may run on one database at once: row locks with SKIP
// LOCKED give each event to one relay at a time. See the package doc for
// the delivery and ordering guarantees.
type Relay struct {
	pool *pgxpool.Pool
	pub  EventPublisher
	cfg  RelayConfig
	log  *slog.Logger

	pending, lag prometheus.Gauge
	failures     prometheus.Counter

	wake chan struct{} // capacity 1: a pending "look again"

	mu       sync.Mutex
	started  bool
	stopping bool

	quit       chan struct{}      // closed by Shutdown: take no new batch
	listenStop context.CancelFunc // stops the listener
	hardCtx    context.Context    // cancels in-flight database and publish calls
	hardCancel context.CancelFunc
	workerDone chan struct{}
	bg         sync.WaitGroup // listener and janitor
}

// NewRelay returns a relay for pool's oc_outbox publishing with pub. Zero
// fields of cfg take defaults. Metrics are registered on reg (nil: not
// registered); relays of several services share a registry. log may be nil.
// Call Start to run it.
func NewRelay(pool *pgxpool.Pool, pub EventPublisher, cfg RelayConfig, log *slog.Logger, reg prometheus.Registerer) *Relay {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	pendingVec := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "oc_outbox_pending",
		Help: "Events in the outbox not yet published (capped at 100000).",
	}, []string{"service"})
	lagVec := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "oc_outbox_lag_seconds",
		Help: "Age of the oldest unpublished outbox event; 0 when none.",
	}, []string{"service"})
	failVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oc_outbox_publish_errors_total",
		Help: "Failed outbox relay attempts (publish or database errors); events are kept and retried.",
	}, []string{"service"})
	if reg != nil {
		var err error
		if pendingVec, err = register(reg, pendingVec); err != nil {
			log.Error("outbox: register metrics", "err", err)
		}
		if lagVec, err = register(reg, lagVec); err != nil {
			log.Error("outbox: register metrics", "err", err)
		}
		if failVec, err = register(reg, failVec); err != nil {
			log.Error("outbox: register metrics", "err", err)
		}
		if err := RegisterMetrics(reg); err != nil {
			log.Error("outbox: register metrics", "err", err)
		}
	}
	return &Relay{
		pool:     pool,
		pub:      pub,
		cfg:      cfg,
		log:      log.With("component", "outbox-relay", "service", cfg.Service),
		pending:  pendingVec.WithLabelValues(cfg.Service),
		lag:      lagVec.WithLabelValues(cfg.Service),
		failures: failVec.WithLabelValues(cfg.Service),
		wake:     make(chan struct{}, 1),
	}
}

// Start starts the relay in the background and returns once its listener
// is listening (or its first attempt failed; it keeps retrying), so an event
// committed after Start returns wakes the relay without waiting for a poll.
// ctx bounds only this start; the relay runs until Shutdown. Events
// committed before Start (by a process that died, say) are published at
// once. Start may be called once.
func (r *Relay) Start(ctx context.Context) error {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return errors.New("outbox: relay already started")
	}
	r.started = true
	base := context.WithoutCancel(ctx)
	r.quit = make(chan struct{})
	r.workerDone = make(chan struct{})
	r.hardCtx, r.hardCancel = context.WithCancel(base)
	listenCtx, listenStop := context.WithCancel(base)
	r.listenStop = listenStop
	r.mu.Unlock()

	listening := make(chan struct{})
	r.bg.Add(2)
	go r.listen(listenCtx, listening)
	go r.janitor()
	go r.work()
	select {
	case <-listening:
	case <-ctx.Done():
	}
	return nil
}

// Shutdown stops the relay: it stops listening, lets the batch in flight
// finish, then publishes what is still pending until the outbox is empty,
// a publish fails or ctx ends, and returns. Events left behind stay in the
// outbox for the next relay. It returns ctx's error if ctx ended first.
// Calling it again, or before Start, does nothing.
func (r *Relay) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	if !r.started || r.stopping {
		r.mu.Unlock()
		return nil
	}
	r.stopping = true
	close(r.quit)
	r.listenStop()
	r.mu.Unlock()

	stop := context.AfterFunc(ctx, r.hardCancel)
	defer stop()
	<-r.workerDone
	var err error
	if ctx.Err() == nil {
		if err = r.drain(ctx, nil); err != nil && ctx.Err() == nil {
			r.log.Warn("outbox: events left unpublished at shutdown", "err", err)
			err = nil
		}
	}
	r.hardCancel()
	r.bg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (r *Relay) wakeUp() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// work is the publishing loop: drain on start, on every notification and
// every poll interval; back off while publishing fails.
func (r *Relay) work() {
	defer close(r.workerDone)
	poll := time.NewTimer(r.cfg.PollInterval)
	defer poll.Stop()
	failures := 0
	for {
		err := r.drain(r.hardCtx, r.quit)
		if err != nil && r.hardCtx.Err() == nil {
			failures++
			r.failures.Inc()
			d := backoff(r.cfg.MinBackoff, r.cfg.MaxBackoff, failures)
			r.log.Warn("outbox: publish failed; events kept, retrying", "err", err, "retry_in", d, "failures", failures)
			t := time.NewTimer(d)
			select {
			case <-r.quit:
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		if failures > 0 && err == nil {
			r.log.Info("outbox: publishing again", "after_failures", failures)
			failures = 0
		}
		poll.Reset(r.cfg.PollInterval)
		select {
		case <-r.quit:
			return
		case <-r.wake:
		case <-poll.C:
		}
	}
}

// drain publishes batches until the outbox is empty, a batch fails, or
// quit is closed (nil: never).
func (r *Relay) drain(ctx context.Context, quit <-chan struct{}) error {
	for {
		n, err := r.publishBatch(ctx)
		if err != nil {
			return err
		}
		if n < r.cfg.BatchSize {
			return nil
		}
		select {
		case <-quit:
			return nil
		default:
		}
	}
}

const claimSQL = `SELECT id, payload FROM oc_outbox WHERE published_at IS NULL
ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`

const markSQL = `UPDATE oc_outbox SET published_at = now() WHERE id = ANY($1)`

// publishBatch claims up to BatchSize unpublished events, publishes them in
// id order, and marks the published ones in the claiming transaction. It
// stops at the first failed publish (so a relay never overtakes an event)
// and returns the number claimed.
func (r *Relay) publishBatch(ctx context.Context) (int, error) {
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("outbox: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	rows, err := tx.Query(ctx, claimSQL, r.cfg.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("outbox: claim: %w", err)
	}
	type claimed struct {
		id      pgtype.UUID
		payload []byte
	}
	var batch []claimed
	for rows.Next() {
		var c claimed
		if err := rows.Scan(&c.id, &c.payload); err != nil {
			rows.Close()
			return 0, fmt.Errorf("outbox: claim: %w", err)
		}
		batch = append(batch, c)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("outbox: claim: %w", err)
	}
	if len(batch) == 0 {
		return 0, nil
	}
	done := make([]pgtype.UUID, 0, len(batch))
	var pubErr error
	for _, c := range batch {
		var ev contracts.Event
		if err := json.Unmarshal(c.payload, &ev); err != nil || ev.ID == "" || ev.Type == "" {
			// Only a row written by something other than AddEvent gets
			// here; it can never be published, so it must not block the
			// ones behind it. It stays in the table until the purge.
			r.log.Error("outbox: dropping undecodable event", "id", uuid.UUID(c.id.Bytes).String(), "err", err)
			done = append(done, c.id)
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, r.cfg.PublishTimeout)
		pubErr = r.pub.Publish(pctx, ev)
		cancel()
		if pubErr != nil {
			pubErr = fmt.Errorf("outbox: publish %s %s: %w", ev.Type, ev.ID, pubErr)
			break
		}
		done = append(done, c.id)
	}
	if len(done) > 0 {
		// Mark even when ctx was cancelled mid-batch: these events were
		// confirmed, and failing to mark them means publishing them again.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := tx.Exec(mctx, markSQL, done); err != nil {
			return 0, fmt.Errorf("outbox: mark %d published: %w", len(done), err)
		}
		if err := tx.Commit(mctx); err != nil {
			return 0, fmt.Errorf("outbox: commit %d published: %w", len(done), err)
		}
	}
	return len(batch), pubErr
}

// listen keeps a dedicated connection LISTENing on OutboxChannel and wakes
// the worker on each notification and after each (re)connect, since
// notifications sent while it was away are lost. listening is closed after
// the first attempt, successful or not.
func (r *Relay) listen(ctx context.Context, listening chan struct{}) {
	defer r.bg.Done()
	var once sync.Once
	first := func() { once.Do(func() { close(listening) }) }
	defer first()
	failures := 0
	for {
		ok, err := r.listenOnce(ctx, first)
		if ctx.Err() != nil {
			return
		}
		if ok {
			failures = 0
		}
		failures++
		first()
		r.wakeUp()
		d := backoff(r.cfg.MinBackoff, r.cfg.MaxBackoff, failures)
		r.log.Warn("outbox: listener connection lost; polling until it is back", "err", err, "retry_in", d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (r *Relay) listenOnce(ctx context.Context, listening func()) (bool, error) {
	ccfg := r.pool.Config().ConnConfig
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, ccfg)
	cancel()
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+OutboxChannel); err != nil {
		return false, err
	}
	listening()
	r.wakeUp()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true, err
		}
		r.wakeUp()
	}
}

// janitor refreshes the gauges and purges old rows.
func (r *Relay) janitor() {
	defer r.bg.Done()
	ctx := r.hardCtx
	stats := time.NewTicker(r.cfg.StatsInterval)
	defer stats.Stop()
	purge := time.NewTicker(r.cfg.PurgeInterval)
	defer purge.Stop()
	r.refreshStats(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-stats.C:
			r.refreshStats(ctx)
		case <-purge.C:
			r.purge(ctx)
		}
	}
}

func (r *Relay) refreshStats(ctx context.Context) {
	var pending int64
	var lag float64
	err := r.pool.QueryRow(ctx, `SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
FROM (SELECT created_at FROM oc_outbox WHERE published_at IS NULL ORDER BY id LIMIT 100000) s`).Scan(&pending, &lag)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("outbox: read stats", "err", err)
		}
		return
	}
	r.pending.Set(float64(pending))
	r.lag.Set(max(lag, 0))
}

func (r *Relay) purge(ctx context.Context) {
	for {
		n, err := PurgeOutbox(ctx, r.pool, r.cfg.Retention, 10000)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn("outbox: purge", "err", err)
			}
			return
		}
		if n < 10000 {
			break
		}
	}
	for {
		n, err := PurgeInbox(ctx, r.pool, r.cfg.InboxRetention, 10000)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn("inbox: purge", "err", err)
			}
			return
		}
		if n < 10000 {
			return
		}
	}
}

// PurgeOutbox deletes events published more than olderThan ago, at most
// limit rows (limit <= 0 means 10000), and returns how many it deleted.
// Unpublished events are never deleted. Relays call it periodically.
func PurgeOutbox(ctx context.Context, pool *pgxpool.Pool, olderThan time.Duration, limit int) (int64, error) {
	if limit <= 0 {
		limit = 10000
	}
	tag, err := pool.Exec(ctx, `DELETE FROM oc_outbox WHERE id = ANY (ARRAY(
		SELECT id FROM oc_outbox WHERE published_at < now() - $1 * interval '1 microsecond' LIMIT $2))`,
		olderThan.Microseconds(), limit)
	if err != nil {
		return 0, fmt.Errorf("outbox: purge: %w", err)
	}
	return tag.RowsAffected(), nil
}

// backoff returns the wait before attempt n (1-based): min·2^(n-1) capped at
// max, with ±25% jitter so relays of several instances spread out.
func backoff(lo, hi time.Duration, n int) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	j := d / 4
	if j > 0 {
		d += rand.N(2*j) - j
	}
	return d
}
