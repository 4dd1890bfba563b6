package bus

import (
	"errors"
	"net"
	"sync"
	"time"
)

// coalescingConn batches the writes of concurrent publishers into fewer
// socket writes.
//
// amqp091-go writes every publish (method + header + body frames) to its
// buffered writer and flushes it with one write system call while holding
// the connection's send lock, so with 64 calls in flight a process makes 64
// write calls, one after the other, each a full pass through the loopback
// TCP stack (7–8 µs of CPU each on the 2-core reference machine: a third of
// the process's CPU per round trip). Here Write only appends to a pending
// buffer and returns; one flusher goroutine writes whatever has gathered
// while its previous write was in the kernel. Nothing waits for a batch to
// fill: an idle connection writes at once, a busy one writes more per call.
//
// Order is kept (one FIFO buffer, one writer). A write error is sticky: it
// closes the socket, so amqp091-go's reader fails and the supervised
// connection reconnects, and every later Write returns it. Pending bytes are
// bounded (maxPending): a publisher facing a stalled socket blocks in Write,
// as it would on the socket itself.
type coalescingConn struct {
	net.Conn

	mu      sync.Mutex
	drained sync.Cond // signalled when the flusher takes the pending bytes
	pending []byte
	spare   []byte
	err     error
	closed  bool
	wake    chan struct{} // capacity 1: "there is something to write"
	done    chan struct{} // closed when the flusher has exited
}

// maxPending bounds the bytes queued behind a write that has not returned.
const maxPending = 4 << 20

var errConnClosed = errors.New("bus: connection closed")

func newCoalescingConn(c net.Conn) *coalescingConn {
	cc := &coalescingConn{Conn: c, wake: make(chan struct{}, 1), done: make(chan struct{}),
		pending: make([]byte, 0, 64<<10), spare: make([]byte, 0, 64<<10)}
	cc.drained.L = &cc.mu
	go cc.flush()
	return cc
}

// Write queues p for the flusher. It blocks only while maxPending bytes are
// already queued.
func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	for c.err == nil && !c.closed && len(c.pending) > 0 && len(c.pending)+len(p) > maxPending {
		c.drained.Wait()
	}
	if c.err != nil || c.closed {
		err := c.err
		if err == nil {
			err = errConnClosed
		}
		c.mu.Unlock()
		return 0, err
	}
	c.pending = append(c.pending, p...)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default: // already signalled: the flusher will see these bytes too
	}
	return len(p), nil
}

func (c *coalescingConn) flush() {
	defer close(c.done)
	for range c.wake {
		for {
			c.mu.Lock()
			if len(c.pending) == 0 || c.err != nil {
				stop := c.closed || c.err != nil
				c.mu.Unlock()
				if stop {
					return
				}
				break
			}
			out := c.pending
			c.pending, c.spare = c.spare[:0], nil
			c.drained.Broadcast()
			c.mu.Unlock()

			_, err := c.Conn.Write(out)

			c.mu.Lock()
			if cap(out) <= 1<<20 { // keep the buffer unless a burst grew it large
				c.spare = out[:0]
			} else {
				c.spare = make([]byte, 0, 64<<10)
			}
			if err != nil && c.err == nil {
				c.err = err
				c.drained.Broadcast()
			}
			c.mu.Unlock()
			if err != nil {
				_ = c.Conn.Close()
				return
			}
		}
	}
}

// Close sends what is still queued, for at most closeFlush, then closes
// the socket. Something usually is: answering a close the broker started,
// amqp091-go queues connection.close-ok and closes the socket right after
// (and crypto/tls does the same with its close_notify alert).
func (c *coalescingConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.drained.Broadcast()
	c.mu.Unlock()
	// Bounds the flusher's last writes, including one already blocked on a
	// stalled peer.
	_ = c.Conn.SetWriteDeadline(time.Now().Add(closeFlush))
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-c.done
	return c.Conn.Close()
}

// closeFlush bounds how long Close spends sending what was queued.
const closeFlush = time.Second
