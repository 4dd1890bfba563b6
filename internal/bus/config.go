package bus

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
)

// Config configures the supervised connection (Dial). Register its flags
// with RegisterFlags; the zero value plus RegisterFlags defaults works on a
// developer machine.
type Config struct {
	// URL is the AMQP URL, vhost included (amqp.url).
	URL string
	// Name names the connection in the broker's UI and in metrics labels
	// (label conn). Defaults to "opencommerce".
	Name string
	// Heartbeat is the AMQP heartbeat interval (amqp.heartbeat).
	Heartbeat time.Duration
	// MinBackoff and MaxBackoff bound the exponential reconnect backoff
	// (full jitter between MinBackoff and the current ceiling). MaxBackoff
	// is how late, at worst, the connection comes back after the broker
	// does, so it is kept low (DefaultMaxBackoff); MinBackoff is the floor
	// that keeps a down broker from being hammered.
	MinBackoff, MaxBackoff time.Duration
	// SyncWrites makes every publish its own socket write, in the
	// publishing goroutine, as amqp091-go does alone (amqp.sync-writes).
	// By default writes are coalesced: see coalescingConn.
	SyncWrites bool

	// Client configures the RPC client a process builds on this connection.
	// It lives here so that one RegisterFlags call registers every amqp.*
	// flag; NewClient takes it explicitly.
	Client ClientConfig
}

// The reconnect backoff's defaults: a broker back after an outage is
// reconnected to within DefaultMaxBackoff (a 10 s cap took 8.7 s to
// recover from a 30 s outage), and a down broker sees at most one attempt
// per DefaultMinBackoff, about two a second once the backoff has grown.
const (
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = time.Second
)

// DefaultURL is the developer machine's broker.
const DefaultURL = "amqp://guest:guest@127.0.0.1:5672/"

// RegisterFlags registers the amqp.* flags on fs, including the client's.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "amqp.url", DefaultURL, "AMQP URL of the RabbitMQ broker (vhost in the path)")
	fs.StringVar(&c.Name, "amqp.connection-name", "opencommerce", "connection name shown by the broker and used as the metrics label conn")
	fs.DurationVar(&c.Heartbeat, "amqp.heartbeat", 10*time.Second, "AMQP heartbeat interval")
	fs.DurationVar(&c.MinBackoff, "amqp.reconnect-min-backoff", DefaultMinBackoff, "first and shortest reconnect delay (exponential with jitter)")
	fs.DurationVar(&c.MaxBackoff, "amqp.reconnect-max-backoff", DefaultMaxBackoff, "longest reconnect delay: the connection is back at most this long after the broker")
	fs.BoolVar(&c.SyncWrites, "amqp.sync-writes", false, "write each publish to the socket on its own instead of coalescing concurrent publishes into fewer writes")
	c.Client.RegisterFlags(fs)
}

// withDefaults fills zero fields, so a Config built in code (tests) works.
func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = "opencommerce"
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = 10 * time.Second
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.URL == "" {
		return errors.New("amqp.url is required")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "amqp" && u.Scheme != "amqps") || u.Host == "" {
		return fmt.Errorf("amqp.url %q: want amqp://user:pass@host:port/vhost", c.URL)
	}
	if c.MinBackoff < 0 || c.MaxBackoff < 0 || (c.MaxBackoff > 0 && c.MinBackoff > c.MaxBackoff) {
		return errors.New("amqp.reconnect-min-backoff must be >= 0 and <= amqp.reconnect-max-backoff")
	}
	return c.Client.Validate()
}

// ReplyPath selects how an RPC client receives replies.
type ReplyPath string

// The reply paths. See the package doc for the measurements behind the
// default.
const (
	// ReplyDirect uses RabbitMQ Direct Reply-To (amq.rabbitmq.reply-to):
	// no reply queue; each publishing channel consumes its own replies.
	ReplyDirect ReplyPath = "direct"
	// ReplyQueue uses one exclusive, auto-named reply queue per connection.
	ReplyQueue ReplyPath = "queue"
)

// ClientConfig configures an RPC client (NewClient).
type ClientConfig struct {
	// Timeout is the deadline of a call whose context has none
	// (amqp.rpc-timeout).
	Timeout time.Duration
	// MaxInFlight bounds concurrent calls; further callers wait for a slot
	// until their deadline (amqp.max-in-flight).
	MaxInFlight int
	// Channels is the number of AMQP channels requests are published on
	// (amqp.rpc-channels). Each is used by one publisher at a time.
	Channels int
	// ReplyPath picks Direct Reply-To or a reply queue (amqp.reply-path).
	ReplyPath ReplyPath
}

// Client defaults.
const (
	DefaultRPCTimeout  = 10 * time.Second
	DefaultMaxInFlight = 1024
	DefaultChannels    = 4
	DefaultReplyPath   = ReplyQueue
)

// RegisterFlags registers the RPC client's amqp.* flags on fs.
func (c *ClientConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.Timeout, "amqp.rpc-timeout", DefaultRPCTimeout, "deadline of an RPC call whose caller set none")
	fs.IntVar(&c.MaxInFlight, "amqp.max-in-flight", DefaultMaxInFlight, "RPC calls in flight per process; more wait for a slot")
	fs.IntVar(&c.Channels, "amqp.rpc-channels", DefaultChannels, "AMQP channels the RPC client publishes on")
	rp := (*replyPathFlag)(&c.ReplyPath)
	*rp = replyPathFlag(DefaultReplyPath)
	fs.Var(rp, "amqp.reply-path", "RPC reply path: direct (Direct Reply-To) or queue (exclusive reply queue)")
}

type replyPathFlag ReplyPath

func (f *replyPathFlag) String() string { return string(*f) }
func (f *replyPathFlag) Set(s string) error {
	switch ReplyPath(s) {
	case ReplyDirect, ReplyQueue:
		*f = replyPathFlag(s)
		return nil
	}
	return fmt.Errorf("want direct or queue, got %q", s)
}

func (c ClientConfig) withDefaults() ClientConfig {
	if c.Timeout == 0 {
		c.Timeout = DefaultRPCTimeout
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.Channels == 0 {
		c.Channels = DefaultChannels
	}
	if c.ReplyPath == "" {
		c.ReplyPath = DefaultReplyPath
	}
	return c
}

// Validate reports a configuration that cannot work. Zero values are
// allowed and mean the defaults.
func (c ClientConfig) Validate() error {
	switch {
	case c.Timeout < 0:
		return errors.New("amqp.rpc-timeout must be positive")
	case c.MaxInFlight < 0:
		return errors.New("amqp.max-in-flight must be positive")
	case c.Channels < 0 || c.Channels > 64:
		return errors.New("amqp.rpc-channels must be in 1..64")
	}
	switch c.ReplyPath {
	case "", ReplyDirect, ReplyQueue:
	default:
		return fmt.Errorf("amqp.reply-path: want direct or queue, got %q", c.ReplyPath)
	}
	return nil
}

// ServerConfig configures an RPC server (NewServer).
type ServerConfig struct {
	// Service is the service name: routing key on oc.rpc and queue
	// rpc.<Service>. Required.
	Service string
	// Prefetch is the broker's unacked-delivery window (amqp.prefetch).
	// Keep it at least the requests in flight you expect.
	Prefetch int
	// Workers is the number of concurrent handler goroutines
	// (amqp.workers).
	Workers int
	// MaxBodyBytes bounds a request body; larger requests are answered
	// invalid_argument without running the handler.
	MaxBodyBytes int
	// Classify, when set, maps a handler's error that is not a
	// *contracts.Error to one (nil: it stays internal). Services set it to
	// pg.Unavailable (through svc.Kit), so a dependency that is down is
	// answered unavailable on every method rather than internal. It must
	// be safe for concurrent use.
	Classify func(error) *contracts.Error
}

// Server defaults.
const (
	DefaultPrefetch     = 256
	DefaultWorkers      = 64
	DefaultMaxBodyBytes = 4 << 20
)

// RegisterFlags registers amqp.prefetch and amqp.workers on fs. Service is
// not a flag: each module sets its own.
func (c *ServerConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.Prefetch, "amqp.prefetch", DefaultPrefetch, "RPC server prefetch (unacked requests per server)")
	fs.IntVar(&c.Workers, "amqp.workers", DefaultWorkers, "RPC server handler goroutines")
	fs.IntVar(&c.MaxBodyBytes, "amqp.max-body-bytes", DefaultMaxBodyBytes, "largest RPC request body a server accepts")
}

func (c ServerConfig) withDefaults() ServerConfig {
	if c.Prefetch == 0 {
		c.Prefetch = DefaultPrefetch
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return c
}

// Validate reports a configuration that cannot work. Zero Prefetch,
// Workers and MaxBodyBytes mean the defaults.
func (c ServerConfig) Validate() error {
	switch {
	case c.Service == "":
		return errors.New("server: service name is required")
	case c.Prefetch < 0 || c.Prefetch > 65535:
		return errors.New("amqp.prefetch must be in 1..65535")
	case c.Workers < 0:
		return errors.New("amqp.workers must be positive")
	case c.MaxBodyBytes < 0:
		return errors.New("amqp.max-body-bytes must be positive")
	}
	return nil
}

// ConsumerConfig configures an event consumer (NewConsumer).
type ConsumerConfig struct {
	// Service names the queue events.<Service> (and its .retry and .dlq).
	Service string
	// Bindings are the routing keys (topic patterns) bound to the queue.
	Bindings []string
	// Prefetch and Workers as in ServerConfig (defaults 64 and 8).
	Prefetch, Workers int
	// MaxAttempts is how many times a failing event is handled before it
	// is moved to events.<Service>.dlq (default 5).
	MaxAttempts int
	// RetryDelay is how long a failed event waits before its next attempt
	// (default 1s). It is the TTL of the retry queue, so changing it for an
	// existing queue needs the queue deleted first.
	RetryDelay time.Duration
	// QueueType is the kind of queue events.<Service>, its .retry and its
	// .dlq are declared as (amqp.queue-type; empty means QueueClassic).
	// QueueQuorum replicates them across the cluster's nodes, so events
	// survive the loss of one. An existing queue keeps its type: the
	// broker refuses to redeclare it as the other kind (see
	// DeclareEventQueues).
	QueueType QueueType
}

// QueueType is the kind of durable queue the event consumer declares.
type QueueType string

// The queue types.
const (
	// QueueClassic is RabbitMQ's classic queue, on one node: declared with
	// no x-queue-type, as before the setting existed, so queues already
	// declared that way stay equivalent.
	QueueClassic QueueType = "classic"
	// QueueQuorum is a replicated quorum queue (x-queue-type=quorum);
	// the retry queue dead-letters back at least once.
	QueueQuorum QueueType = "quorum"
)

// DefaultQueueType is the queue type of amqp.queue-type.
const DefaultQueueType = QueueClassic

type queueTypeFlag QueueType

func (f *queueTypeFlag) String() string { return string(*f) }
func (f *queueTypeFlag) Set(s string) error {
	switch QueueType(s) {
	case QueueClassic, QueueQuorum:
		*f = queueTypeFlag(s)
		return nil
	}
	return fmt.Errorf("want classic or quorum, got %q", s)
}

func (c ConsumerConfig) withDefaults() ConsumerConfig {
	if c.Prefetch == 0 {
		c.Prefetch = 64
	}
	if c.Workers == 0 {
		c.Workers = 8
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.RetryDelay == 0 {
		c.RetryDelay = time.Second
	}
	if c.QueueType == "" {
		c.QueueType = DefaultQueueType
	}
	return c
}

// RegisterFlags registers the consumer's tunables under amqp.events-*.
func (c *ConsumerConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.Prefetch, "amqp.events-prefetch", 64, "event consumer prefetch")
	fs.IntVar(&c.Workers, "amqp.events-workers", 8, "event handler goroutines per consumer")
	fs.IntVar(&c.MaxAttempts, "amqp.events-max-attempts", 5, "attempts before an event goes to the dead-letter queue")
	fs.DurationVar(&c.RetryDelay, "amqp.events-retry-delay", time.Second, "delay before a failed event is retried")
	qt := (*queueTypeFlag)(&c.QueueType)
	*qt = queueTypeFlag(DefaultQueueType)
	fs.Var(qt, "amqp.queue-type", "type of the durable event queues (events.<service>, .retry, .dlq): classic, or quorum to replicate them across a cluster; an existing queue cannot change type (README, Operations)")
}

// Validate reports a configuration that cannot work.
func (c ConsumerConfig) Validate() error {
	switch {
	case c.Service == "":
		return errors.New("consumer: service name is required")
	case len(c.Bindings) == 0:
		return errors.New("consumer: at least one binding is required")
	case c.Prefetch < 0 || c.Workers < 0 || c.MaxAttempts < 0:
		return errors.New("consumer: prefetch, workers and max attempts must be positive")
	case c.RetryDelay < 0:
		return errors.New("consumer: retry delay must be positive")
	}
	switch c.QueueType {
	case "", QueueClassic, QueueQuorum:
	default:
		return fmt.Errorf("amqp.queue-type: want classic or quorum, got %q", c.QueueType)
	}
	return nil
}
