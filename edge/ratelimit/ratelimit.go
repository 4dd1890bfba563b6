// Package ratelimit limits request rates with GCRA (the generic cell rate
// algorithm): one timestamp per key (the theoretical arrival time, TAT), no
// windows, no counters, exact burst semantics.
//
// Shared is the limiter the gateway uses: the state lives in Redis, updated
// atomically by one Lua script called with EVALSHA, so every gateway
// instance enforces one limit. The steps of requests that arrive together
// travel to Redis in shared pipelines (batch.go), each still its own script
// run. When Redis fails, Shared falls back at once
// to an in-process GCRA limiter (Local) and keeps using it for a cool-down
// period (a small circuit breaker), so a dead Redis adds no latency; after
// the cool-down one request probes Redis again. While on the fallback each
// instance enforces the limit on its own: the platform limit is then at
// most instances × limit, which is the accepted price of staying up.
package ratelimit

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Class is a rate limit: Burst requests at once, refilled at Rate requests
// per Period. A zero Rate means unlimited.
type Class struct {
	Name   string        `json:"name"`
	Rate   int           `json:"rate"`
	Period time.Duration `json:"period"`
	Burst  int           `json:"burst"`
}

// Unlimited reports whether c limits nothing.
func (c Class) Unlimited() bool { return c.Rate <= 0 || c.Period <= 0 }

// emission is the time one request "costs" (T); tolerance is tau = T*burst.
func (c Class) emission() time.Duration { return c.Period / time.Duration(c.Rate) }
func (c Class) burst() int {
	if c.Burst < 1 {
		return max(c.Rate, 1)
	}
	return c.Burst
}

// Result is the outcome of one Allow, with what the IETF RateLimit headers
// need.
type Result struct {
	Allowed bool
	// Limit is the burst size of the class (RateLimit-Limit).
	Limit int
	// Remaining is how many more requests would be allowed now.
	Remaining int
	// Reset is the time until the key is back to a full burst.
	Reset time.Duration
	// RetryAfter is, when rejected, the time until one request is allowed.
	RetryAfter time.Duration
}

// Limiter decides whether one request of class c by subject key may pass.
// Implementations are safe for concurrent use.
type Limiter interface {
	Allow(ctx context.Context, c Class, key string) Result
}

// gcra applies one request at now to a key whose TAT is tat and returns the
// result and the new TAT (unchanged when rejected).
func gcra(c Class, tat, now int64) (Result, int64) {
	t := int64(c.emission())
	b := c.burst()
	tau := t * int64(b)
	if tat < now {
		tat = now
	}
	next := tat + t
	diff := next - now
	if diff > tau {
		return Result{Limit: b, Remaining: 0, Reset: time.Duration(tat - now),
			RetryAfter: time.Duration(diff - tau)}, tat
	}
	return Result{Allowed: true, Limit: b, Remaining: int((tau - diff) / t), Reset: time.Duration(diff)}, next
}

// Local is an in-process GCRA limiter holding at most MaxKeys keys. Keys
// whose TAT has passed carry no state (they are equal to absent) and are
// swept when a shard fills; if that is not enough, arbitrary keys are
// evicted, which can only make the limiter more lenient, never stricter.
type Local struct {
	shards [localShards]localShard
	seed   maphash.Seed
	now    func() int64
}

const localShards = 32

type localShard struct {
	mu  sync.Mutex
	tat map[string]int64
	max int
}

// NewLocal returns a Local limiter bounded to about maxKeys keys.
func NewLocal(maxKeys int) *Local {
	if maxKeys < localShards {
		maxKeys = localShards
	}
	l := &Local{seed: maphash.MakeSeed(), now: func() int64 { return time.Now().UnixNano() }}
	for i := range l.shards {
		l.shards[i].tat = map[string]int64{}
		l.shards[i].max = maxKeys / localShards
	}
	return l
}

// SetClock replaces the clock (Unix nanoseconds); for tests.
func (l *Local) SetClock(now func() int64) { l.now = now }

// Allow implements Limiter.
func (l *Local) Allow(_ context.Context, c Class, key string) Result {
	if c.Unlimited() {
		return Result{Allowed: true}
	}
	key = c.Name + ":" + strconv.FormatInt(int64(c.emission()), 36) + "." + strconv.Itoa(c.burst()) + ":" + key
	s := &l.shards[maphash.String(l.seed, key)%localShards]
	now := l.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	tat, ok := s.tat[key]
	r, next := gcra(c, tat, now)
	if r.Allowed {
		if !ok && len(s.tat) >= s.max {
			s.evict(now)
		}
		s.tat[key] = next
	}
	return r
}

// Len returns the number of keys held.
func (l *Local) Len() int {
	n := 0
	for i := range l.shards {
		l.shards[i].mu.Lock()
		n += len(l.shards[i].tat)
		l.shards[i].mu.Unlock()
	}
	return n
}

func (s *localShard) evict(now int64) {
	for k, t := range s.tat {
		if t <= now {
			delete(s.tat, k)
		}
	}
	for k := range s.tat {
		if len(s.tat) < s.max {
			break
		}
		delete(s.tat, k)
	}
}

// script is the shared GCRA step. Times are microseconds from the Redis
// server's clock (so gateway clocks need not agree). Returns {allowed,
// remaining-time (tau - diff) or retry-after, reset}.
var script = redis.NewScript(`
local emission = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local nxt = tat + emission
local diff = nxt - now
if diff > tau then
  return {0, diff - tau, tat - now}
end
redis.call('SET', KEYS[1], nxt, 'PX', math.ceil(diff / 1000) + 1)
return {1, tau - diff, diff}
`)

// SharedConfig configures a Shared limiter.
type SharedConfig struct {
	// Prefix is prepended to every Redis key ("oc:" → "oc:rl:login:ip:1.2.3.4").
	Prefix string
	// Timeout bounds a request's wait for its Redis decision; past it the
	// request is decided locally and the breaker opens. A step may wait
	// for a pipeline already in flight before its own, so keep Timeout
	// above two Redis round trips (the default 50 ms is far above them on
	// a LAN).
	Timeout time.Duration
	// Cooldown is how long the breaker stays open after a Redis failure.
	Cooldown time.Duration
	// LocalMaxKeys bounds the fallback limiter.
	LocalMaxKeys int
}

// Shared is the Redis-backed GCRA limiter with a local fallback. Safe for
// concurrent use.
type Shared struct {
	rdb       redis.Scripter
	cfg       SharedConfig
	local     *Local
	log       *slog.Logger
	openUntil atomic.Int64 // unix nanos; 0 = closed (Redis in use)
	fallbacks atomic.Uint64
	batch     *batcher // nil when the client cannot pipeline
}

// NewShared returns a Shared limiter over rdb (nil rdb: local only).
func NewShared(rdb redis.Scripter, cfg SharedConfig, log *slog.Logger) *Shared {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 50 * time.Millisecond
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = 2 * time.Second
	}
	if cfg.LocalMaxKeys <= 0 {
		cfg.LocalMaxKeys = 100_000
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Shared{rdb: rdb, cfg: cfg, local: NewLocal(cfg.LocalMaxKeys), log: log}
	if p, ok := rdb.(pipeliner); ok {
		s.batch = &batcher{rdb: p, timeout: cfg.Timeout}
	}
	return s
}

// RoundTrips returns how many pipelines were sent to Redis (each carries
// the steps of every request that was waiting when it left).
func (s *Shared) RoundTrips() uint64 {
	if s.batch == nil {
		return 0
	}
	return s.batch.roundTrips.Load()
}

// Local returns the fallback limiter.
func (s *Shared) Local() *Local { return s.local }

// Fallbacks returns how many decisions were taken locally.
func (s *Shared) Fallbacks() uint64 { return s.fallbacks.Load() }

// Degraded reports whether the breaker is open (decisions are local).
func (s *Shared) Degraded() bool { return s.openUntil.Load() != 0 }

// Allow implements Limiter.
func (s *Shared) Allow(ctx context.Context, c Class, key string) Result {
	if c.Unlimited() {
		return Result{Allowed: true}
	}
	if s.rdb == nil || !s.useRedis() {
		s.fallbacks.Add(1)
		return s.local.Allow(ctx, c, key)
	}
	r, err := s.redisAllow(ctx, c, key)
	if err != nil {
		if s.openUntil.Swap(time.Now().Add(s.cfg.Cooldown).UnixNano()) == 0 {
			s.log.Warn("rate limiter: Redis unreachable, limiting locally", "err", err, "cooldown", s.cfg.Cooldown)
		}
		s.fallbacks.Add(1)
		return s.local.Allow(ctx, c, key)
	}
	if s.openUntil.Swap(0) != 0 {
		s.log.Info("rate limiter: Redis back")
	}
	return r
}

// useRedis reports whether this request should go to Redis: always while
// the breaker is closed; while open, only the one request that wins the
// probe after the cool-down.
func (s *Shared) useRedis() bool {
	until := s.openUntil.Load()
	if until == 0 {
		return true
	}
	now := time.Now().UnixNano()
	if now < until {
		return false
	}
	return s.openUntil.CompareAndSwap(until, now+int64(s.cfg.Cooldown))
}

func (s *Shared) redisAllow(ctx context.Context, c Class, key string) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	t := c.emission().Microseconds()
	if t < 1 {
		t = 1
	}
	b := c.burst()
	tau := t * int64(b)
	// The key names the class's parameters, so a limit changed at run time
	// takes effect at once instead of inheriting state measured in the old
	// units.
	rkey := s.cfg.Prefix + "rl:" + c.Name + ":" + strconv.FormatInt(t, 36) + "." + strconv.Itoa(b) + ":" + key
	emission, tauArg := formatArgs(t, tau)
	var res []int64
	var err error
	if s.batch != nil {
		res, err = s.batch.run(ctx, rkey, emission, tauArg)
	} else {
		res, err = script.Run(ctx, s.rdb, []string{rkey}, emission, tauArg).Int64Slice()
	}
	if err != nil {
		return Result{}, err
	}
	if len(res) != 3 {
		return Result{}, errors.New("ratelimit: unexpected script reply")
	}
	us := time.Microsecond
	if res[0] == 1 {
		return Result{Allowed: true, Limit: b, Remaining: int(res[1] / t), Reset: time.Duration(res[2]) * us}, nil
	}
	return Result{Limit: b, RetryAfter: time.Duration(res[1]) * us, Reset: time.Duration(res[2]) * us}, nil
}
