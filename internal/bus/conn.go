package bus

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
)

// TopologyFunc declares exchanges, queues or bindings on ch. Registered
// functions run on every (re)connection before the connection is handed to
// anyone, so topology deleted by an operator or lost with a broker comes
// back by itself. They must be idempotent.
type TopologyFunc func(ch *amqp.Channel) error

// Conn is a supervised AMQP connection. It dials, reconnects with
// exponential backoff and jitter when the connection is lost, re-declares
// the registered topology (oc.rpc and oc.events always) on every
// connection, drains every notification channel it registers, and tracks
// the broker's flow control (connection.blocked).
//
// amqp091-go's experimental built-in recovery is deliberately not used: it
// was still being fixed in the releases before v1.16, and a supervisor of
// our own lets every component (RPC client and server, consumers,
// publishers) fail in-flight work promptly and rebuild its own channels
// with the same code path that first built them.
//
// A Conn is safe for concurrent use.
type Conn struct {
	cfg Config
	log *slog.Logger
	reg prometheus.Registerer
	m   connMetrics

	mu       sync.Mutex
	cur      *amqp.Connection // nil while disconnected
	up       chan struct{}    // closed while cur != nil
	topology []TopologyFunc
	blocked  atomic.Bool

	closed    chan struct{}
	closeOnce sync.Once
	done      chan struct{} // closed when the supervisor has exited
}

// Dial connects to the broker, retrying with backoff until it succeeds or
// ctx ends, and then supervises the connection until Close. reg may be nil
// (no metrics). The returned error is a *contracts.Error with code
// unavailable when ctx ended before a connection was made.
func Dial(ctx context.Context, cfg Config, log *slog.Logger, reg prometheus.Registerer) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Conn{
		cfg:    cfg,
		log:    log.With("component", "amqp", "conn", cfg.Name),
		reg:    reg,
		m:      newConnMetrics(reg, cfg.Name),
		up:     make(chan struct{}),
		closed: make(chan struct{}),
		done:   make(chan struct{}),
		topology: []TopologyFunc{func(ch *amqp.Channel) error {
			if err := ch.ExchangeDeclare(contracts.RPCExchange, amqp.ExchangeDirect, true, false, false, false, nil); err != nil {
				return err
			}
			return ch.ExchangeDeclare(contracts.EventsExchange, amqp.ExchangeTopic, true, false, false, false, nil)
		}},
	}
	var first *amqp.Connection
	for attempt := 0; ; attempt++ {
		conn, err := c.connect()
		if err == nil {
			first = conn
			break
		}
		c.log.Warn("amqp dial failed", "err", err, "attempt", attempt+1)
		select {
		case <-ctx.Done():
			return nil, contracts.Errorf(contracts.CodeUnavailable, "connect to broker: %v", err)
		case <-time.After(c.backoff(attempt)):
		}
	}
	c.setUp(first)
	go c.supervise(first)
	return c, nil
}

// backoff returns the delay before reconnect attempt n (0-based): full
// jitter between MinBackoff and min(MaxBackoff, MinBackoff·2ⁿ).
func (c *Conn) backoff(n int) time.Duration {
	ceil := c.cfg.MinBackoff
	for i := 0; i < n && ceil < c.cfg.MaxBackoff; i++ {
		ceil *= 2
	}
	ceil = min(ceil, c.cfg.MaxBackoff)
	if ceil <= c.cfg.MinBackoff {
		return c.cfg.MinBackoff
	}
	return c.cfg.MinBackoff + rand.N(ceil-c.cfg.MinBackoff)
}

// connect dials once and declares the registered topology.
func (c *Conn) connect() (*amqp.Connection, error) {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(c.cfg.Name)
	var sock net.Conn
	conn, err := amqp.DialConfig(c.cfg.URL, amqp.Config{
		Heartbeat:  c.cfg.Heartbeat,
		Properties: props,
		Locale:     "en_US",
		Dial: func(network, addr string) (net.Conn, error) {
			s, err := c.dial(network, addr)
			sock = s
			return s, err
		},
	})
	if err != nil {
		// amqp091-go leaves the socket open on some handshake failures
		// (no common SASL mechanism): close it, and its flusher, now.
		if sock != nil {
			_ = sock.Close()
		}
		return nil, err
	}
	if err := c.declare(conn); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}

// dial opens the socket, wrapped so that concurrent publishes share write
// calls unless Config.SyncWrites asks for amqp091-go's own behaviour.
func (c *Conn) dial(network, addr string) (net.Conn, error) {
	conn, err := amqp.DefaultDial(5*time.Second)(network, addr)
	if err != nil || c.cfg.SyncWrites {
		return conn, err
	}
	return newCoalescingConn(conn), nil
}

func (c *Conn) declare(conn *amqp.Connection) error {
	c.mu.Lock()
	fns := append([]TopologyFunc(nil), c.topology...)
	c.mu.Unlock()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	for _, f := range fns {
		if err := f(ch); err != nil {
			return err
		}
	}
	return nil
}

func (c *Conn) supervise(conn *amqp.Connection) {
	defer close(c.done)
	for {
		closeCh := conn.NotifyClose(make(chan *amqp.Error, 1))
		blockCh := conn.NotifyBlocked(make(chan amqp.Blocking, 4))
		go func() {
			// Drained until the library closes it at connection shutdown;
			// an undrained notifier would deadlock the reader goroutine.
			for b := range blockCh {
				c.setBlocked(b.Active, b.Reason)
			}
		}()
		c.setUp(conn)

		select {
		case err := <-closeCh:
			c.log.Warn("amqp connection lost", "err", err)
		case <-c.closed:
			c.setDown()
			_ = conn.Close()
			return
		}
		c.setDown()
		c.setBlocked(false, "")

		for attempt := 0; ; attempt++ {
			select {
			case <-c.closed:
				return
			case <-time.After(c.backoff(attempt)):
			}
			next, err := c.connect()
			if err != nil {
				c.log.Warn("amqp reconnect failed", "err", err, "attempt", attempt+1)
				continue
			}
			conn = next
			c.m.reconnects.Inc()
			c.log.Info("amqp reconnected", "attempts", attempt+1)
			break
		}
	}
}

func (c *Conn) setUp(conn *amqp.Connection) {
	c.mu.Lock()
	if c.cur != conn {
		c.cur = conn
		close(c.up)
	}
	c.mu.Unlock()
	c.m.connected.Set(1)
}

func (c *Conn) setDown() {
	c.mu.Lock()
	if c.cur != nil {
		c.cur = nil
		c.up = make(chan struct{})
	}
	c.mu.Unlock()
	c.m.connected.Set(0)
}

func (c *Conn) setBlocked(on bool, reason string) {
	if c.blocked.Swap(on) == on {
		return
	}
	if on {
		c.m.blocked.Set(1)
		c.log.Warn("amqp broker blocked publishing", "reason", reason)
	} else {
		c.m.blocked.Set(0)
		c.log.Info("amqp broker unblocked publishing")
	}
}

// Declare registers f to run on every future connection and runs it now on
// the current one. An error from the immediate run is returned (f stays
// registered).
func (c *Conn) Declare(ctx context.Context, f TopologyFunc) error {
	c.mu.Lock()
	c.topology = append(c.topology, f)
	c.mu.Unlock()
	ch, err := c.Channel(ctx)
	if err != nil {
		return err
	}
	defer ch.Close()
	return f(ch)
}

// Ready reports whether the connection can carry traffic: nil when
// connected and not blocked by the broker, else a *contracts.Error with
// code unavailable. It is meant for /readyz.
func (c *Conn) Ready() error {
	select {
	case <-c.closed:
		return errClosed
	default:
	}
	c.mu.Lock()
	cur := c.cur
	c.mu.Unlock()
	if cur == nil || cur.IsClosed() {
		return errDisconnected
	}
	if c.blocked.Load() {
		return errBlocked
	}
	return nil
}

// Blocked reports whether the broker currently blocks publishing.
func (c *Conn) Blocked() bool { return c.blocked.Load() }

var (
	errClosed       = &contracts.Error{Code: contracts.CodeUnavailable, Message: "bus connection closed"}
	errDisconnected = &contracts.Error{Code: contracts.CodeUnavailable, Message: "not connected to the message broker"}
	errBlocked      = &contracts.Error{Code: contracts.CodeUnavailable, Message: "message broker is blocking publishers (resource alarm)"}
)

// current returns the open connection, or an unavailable error at once.
func (c *Conn) current() (*amqp.Connection, error) {
	select {
	case <-c.closed:
		return nil, errClosed
	default:
	}
	c.mu.Lock()
	cur := c.cur
	c.mu.Unlock()
	if cur == nil || cur.IsClosed() {
		return nil, errDisconnected
	}
	return cur, nil
}

// wait returns the open connection, waiting for the supervisor to
// reconnect if needed, until ctx ends or the Conn is closed.
func (c *Conn) wait(ctx context.Context) (*amqp.Connection, error) {
	for {
		c.mu.Lock()
		cur, up := c.cur, c.up
		c.mu.Unlock()
		if cur != nil && !cur.IsClosed() {
			return cur, nil
		}
		if cur != nil {
			// Lost, and the supervisor has not noticed yet.
			up = nil
		}
		select {
		case <-c.closed:
			return nil, errClosed
		case <-ctx.Done():
			return nil, errDisconnected
		case <-up:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Channel opens a new channel on the current connection, waiting for a
// reconnection until ctx ends. The caller owns and closes the channel; it
// dies with the connection.
func (c *Conn) Channel(ctx context.Context) (*amqp.Channel, error) {
	for {
		conn, err := c.wait(ctx)
		if err != nil {
			return nil, err
		}
		ch, err := conn.Channel()
		if err == nil {
			return ch, nil
		}
		if !errors.Is(err, amqp.ErrClosed) {
			return nil, contracts.Errorf(contracts.CodeUnavailable, "open channel: %v", err)
		}
		select {
		case <-ctx.Done():
			return nil, errDisconnected
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// QueueConsumers returns the number of consumers of queue, or an error
// when it does not exist or the broker is unreachable. Static discovery
// uses it to tell whether anyone serves rpc.<service>.
func (c *Conn) QueueConsumers(ctx context.Context, queue string) (int, error) {
	ch, err := c.Channel(ctx)
	if err != nil {
		return 0, err
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		return 0, err
	}
	return q.Consumers, nil
}

// Done is closed when Close has been called.
func (c *Conn) Done() <-chan struct{} { return c.closed }

// Close closes the connection and stops the supervisor. Components built on
// the Conn should be shut down first. Close is idempotent.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	<-c.done
	return nil
}

// Name returns the connection name (the conn metrics label).
func (c *Conn) Name() string { return c.cfg.Name }
