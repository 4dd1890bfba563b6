package redisx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/opencommerce/opencommerce/contracts"
)

// ErrUnavailable is wrapped by every command error that says Redis is down
// or hung: a network error or one of the client's timeouts, and at once
// every command while the breaker is open (errOpen). It is an unavailable
// *contracts.Error, so a service's RPC server answers it 503 with
// Retry-After (a read with another source, such as a cache, falls back
// instead).
var ErrUnavailable = &contracts.Error{Code: contracts.CodeUnavailable, Message: "redis is unavailable; retry later"}

// errOpen is the error of every command while the breaker is open: Redis
// failed or stopped answering Config.BreakerFailures times in a row and the
// cool-down has not passed.
var errOpen = fmt.Errorf("%w (circuit breaker open)", ErrUnavailable)

// breaker is a go-redis hook (add it first, so it wraps the client's
// retries): BreakerFailures consecutive commands failing on Redis itself
// (a network error, one of the client's timeouts, a pool timeout) open it;
// while open every command fails at once with errOpen; after the
// cool-down one command (the probe) goes through, and its success closes
// the breaker, its failure opens it for another cool-down. Answers from
// Redis (redis.Nil, an error reply) are successes; a command ended by its
// caller's context (canceled, or a deadline shorter than the client's
// timeouts) counts neither way. A failure it counts is returned wrapped
// with ErrUnavailable too, so a pool timeout classifies as unavailable.
type breaker struct {
	failures int
	cooldown time.Duration
	now      func() time.Time

	mu        sync.Mutex
	fails     int       // consecutive failures while closed
	openUntil time.Time // zero: closed
	probing   bool      // a probe is in flight (half-open)
}

func newBreaker(failures int, cooldown time.Duration) *breaker {
	return &breaker{failures: failures, cooldown: cooldown, now: time.Now}
}

// allow reports whether a command may go to Redis, and whether it is the
// probe.
func (b *breaker) allow() (ok, probe bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.openUntil.IsZero() {
		return true, false
	}
	if b.probing || b.now().Before(b.openUntil) {
		return false, false
	}
	b.probing = true
	return true, true
}

// outcome of a command that was let through.
type outcome int

const (
	succeeded outcome = iota
	failed
	neutral // ended by the caller's context
)

func (b *breaker) done(probe bool, o outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	}
	switch o {
	case succeeded:
		b.fails, b.openUntil = 0, time.Time{}
	case failed:
		if !b.openUntil.IsZero() {
			if probe {
				b.openUntil = b.now().Add(b.cooldown)
			}
			return
		}
		b.fails++
		if b.fails >= b.failures {
			b.fails, b.openUntil = 0, b.now().Add(b.cooldown)
		}
	}
}

func classify(ctx context.Context, err error) outcome {
	switch {
	case err == nil, errors.Is(err, redis.Nil):
		return succeeded
	case ctx.Err() != nil:
		return neutral
	case isDown(err):
		return failed
	}
	return succeeded // an answer from Redis (an error reply)
}

// isDown: err says Redis could not be reached or did not answer in time.
func isDown(err error) bool {
	var netErr net.Error
	return errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrClosed) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) || errors.As(err, &netErr)
}

func unavailable(err error) error {
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// DialHook implements redis.Hook (dials are bounded by DialTimeout).
func (b *breaker) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (b *breaker) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		ok, probe := b.allow()
		if !ok {
			return errOpen
		}
		err := next(ctx, cmd)
		o := classify(ctx, err)
		b.done(probe, o)
		if o == failed {
			return unavailable(err)
		}
		return err
	}
}

// ProcessPipelineHook implements redis.Hook: a pipeline is one command
// for the breaker, failed when the pipeline failed on Redis itself.
func (b *breaker) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		ok, probe := b.allow()
		if !ok {
			for _, c := range cmds {
				c.SetErr(errOpen)
			}
			return errOpen
		}
		err := next(ctx, cmds)
		o := classify(ctx, err)
		b.done(probe, o)
		if o == failed {
			uerr := unavailable(err)
			for _, c := range cmds {
				if cerr := c.Err(); cerr != nil && isDown(cerr) {
					c.SetErr(unavailable(cerr))
				}
			}
			return uerr
		}
		return err
	}
}
