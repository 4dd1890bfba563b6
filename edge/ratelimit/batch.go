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
// request joins a queue; one sender goroutine, started when the queue goes
// from empty to non-empty and gone when it empties, sends everything queued
// as one pipeline and hands each caller its reply. Nothing waits for a batch
// to fill: an idle limiter sends at once, a busy one sends more per round
// trip. Each step is still its own atomic script run, so the limits are
// exactly those of one call per request.
type batcher struct {
	rdb     pipeliner
	timeout time.Duration

	mu      sync.Mutex
	queue   []*step
	spare   []*step
	running bool

	roundTrips atomic.Uint64
}

// step is one queued GCRA step and, once done is signalled, its outcome.
type step struct {
	key      string
	emission string
	tau      string
	res      []int64
	err      error
	done     chan struct{} // capacity 1
}

var steps = sync.Pool{New: func() any { return &step{done: make(chan struct{}, 1)} }}

// run queues the step for key and waits for its reply or ctx.
func (b *batcher) run(ctx context.Context, key, emission, tau string) ([]int64, error) {
	st := steps.Get().(*step)
	st.key, st.emission, st.tau = key, emission, tau
	b.mu.Lock()
	b.queue = append(b.queue, st)
	if !b.running {
		b.running = true
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
		// The sender still holds st and will signal it: leave it to the
		// garbage collector rather than to the pool.
		return nil, ctx.Err()
	}
}

// send sends queued steps, a pipeline per turn, until the queue is empty.
func (b *batcher) send() {
	for {
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		batch := b.queue
		b.queue, b.spare = b.spare[:0], nil
		b.mu.Unlock()

		b.exec(batch)

		clear(batch)
		b.mu.Lock()
		b.spare = batch[:0]
		b.mu.Unlock()
	}
}

func (b *batcher) exec(batch []*step) {
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
