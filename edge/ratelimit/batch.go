package ratelimit

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// pipeliner is what batching needs of the Redis client (*redis.Client,
// *redis.ClusterClient and redis.UniversalClient have it).
type pipeliner interface {
	redis.Scripter
	Pipeline() redis.Pipeliner
}

// batcher sends the GCRA steps of concurrent requests to Redis together.
//
// One request at a time costs a round trip each: a write and a read system
// call on both ends, Redis reading one command per event-loop turn. Here a
// request joins a queue; a sender goroutine sends everything queued as one
// pipeline and hands each caller its reply. A request that finds every
// running sender busy starts another, up to maxSenders, so a step waits at
// most for the pipelines already in flight, never behind a queue of them;
// senders exit when the queue is empty. Nothing waits for a batch to fill:
// an idle limiter sends at once, a busy one sends more per round trip. Each
// step is still its own atomic script run, so the limits are exactly those
// of one call per request.
type batcher struct {
	rdb     pipeliner
	timeout time.Duration

	mu      sync.Mutex
	queue   []*step
	senders int // running
	idle    int // running and about to take the queue

	roundTrips atomic.Uint64
}

// maxSenders bounds the pipelines in flight (and the connections they hold).
const maxSenders = 4

// step is one queued GCRA step and, once done is signalled, its outcome.
type step struct {
	key      string
	emission string
	tau      string
	res      []int64
	err      error
	done     chan struct{} // capacity 1
	// abandoned is set by a caller that stopped waiting: its step is not
	// sent (a stale step replayed after a stall would charge a request
	// that was already decided locally).
	abandoned atomic.Bool
}

var steps = sync.Pool{New: func() any { return &step{done: make(chan struct{}, 1)} }}

// run queues the step for key and waits for its reply or ctx.
func (b *batcher) run(ctx context.Context, key, emission, tau string) ([]int64, error) {
	st := steps.Get().(*step)
	st.key, st.emission, st.tau = key, emission, tau
	b.mu.Lock()
	b.queue = append(b.queue, st)
	if b.idle == 0 && b.senders < maxSenders {
		b.senders++
		b.idle++
		go b.send()
	}
	b.mu.Unlock()
	select {
	case <-st.done:
		res, err := st.res, st.err
		st.res, st.err = nil, nil
		steps.Put(st) // the sender signals once and never touches it again
		return res, err
	case <-ctx.Done():
		// A sender may still hold st and signal it: leave it to the garbage
		// collector rather than to the pool.
		st.abandoned.Store(true)
		return nil, ctx.Err()
	}
}

// send sends queued steps, a pipeline per turn, until the queue is empty.
// It counts as idle (b.idle) from its start and between turns, so that a
// request queued meanwhile does not start a sender it does not need.
func (b *batcher) send() {
	var batch []*step
	for {
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.senders--
			b.idle--
			b.mu.Unlock()
			return
		}
		batch, b.queue = b.queue, batch[:0]
		b.idle--
		b.mu.Unlock()

		b.exec(batch)
		clear(batch)

		b.mu.Lock()
		b.idle++
		b.mu.Unlock()
	}
}

func (b *batcher) exec(all []*step) {
	batch := all[:0] // filtered in place
	for _, st := range all {
		if !st.abandoned.Load() {
			batch = append(batch, st)
		}
	}
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	cmds := make([]*redis.Cmd, len(batch))
	pipe := b.rdb.Pipeline()
	for i, st := range batch {
		cmds[i] = script.EvalSha(ctx, pipe, []string{st.key}, st.emission, st.tau)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	b.roundTrips.Add(1)
	// A Redis that restarted or flushed its scripts answers NOSCRIPT: send
	// the script itself for those (which loads it for the next turns).
	var again []int
	for i, c := range cmds {
		if err := c.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			again = append(again, i)
		}
	}
	if len(again) > 0 {
		pipe := b.rdb.Pipeline()
		for _, i := range again {
			cmds[i] = script.Eval(ctx, pipe, []string{batch[i].key}, batch[i].emission, batch[i].tau)
		}
		_, _ = pipe.Exec(ctx)
		b.roundTrips.Add(1)
	}
	for i, st := range batch {
		st.res, st.err = cmds[i].Int64Slice()
		st.done <- struct{}{}
	}
}

// formatArgs renders the script's arguments.
func formatArgs(emission, tau int64) (string, string) {
	return strconv.FormatInt(emission, 10), strconv.FormatInt(tau, 10)
}
