package bus

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	neturl "net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/testenv"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// countingConn counts the writes that reach the socket and can slow them.
type countingConn struct {
	net.Conn
	writes atomic.Int64
	delay  time.Duration
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	return c.Conn.Write(p)
}

// TestCoalescingKeepsEveryWriteWholeAndInOrder: many goroutines writing
// framed records; the peer reads every record intact, each writer's in
// the order written, and the socket saw fewer writes than Write calls.
func TestCoalescingKeepsEveryWriteWholeAndInOrder(t *testing.T) {
	client, server := tcpPair(t)
	under := &countingConn{Conn: client, delay: 200 * time.Microsecond}
	cc := newCoalescingConn(under)
	defer cc.Close()

	const writers, each = 32, 300
	got := make(chan error, 1)
	go func() {
		r := bufio.NewReader(server)
		next := make([]uint32, writers)
		hdr := make([]byte, 12)
		for range writers * each {
			if _, err := io.ReadFull(r, hdr); err != nil {
				got <- err
				return
			}
			w, seq, n := binary.BigEndian.Uint32(hdr), binary.BigEndian.Uint32(hdr[4:]), binary.BigEndian.Uint32(hdr[8:])
			if w >= writers || seq != next[w] {
				got <- errors.New("record out of order or torn")
				return
			}
			next[w]++
			body := make([]byte, n)
			if _, err := io.ReadFull(r, body); err != nil {
				got <- err
				return
			}
			for _, b := range body {
				if b != byte(w) {
					got <- errors.New("record body mixed with another writer's")
					return
				}
			}
		}
		got <- nil
	}()

	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range each {
				n := 1 + (seq*7+w)%300
				rec := make([]byte, 12+n)
				binary.BigEndian.PutUint32(rec, uint32(w))
				binary.BigEndian.PutUint32(rec[4:], uint32(seq))
				binary.BigEndian.PutUint32(rec[8:], uint32(n))
				for i := range n {
					rec[12+i] = byte(w)
				}
				if _, err := cc.Write(rec); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("peer did not receive every record")
	}
	if n := under.writes.Load(); n >= writers*each/4 {
		t.Fatalf("%d socket writes for %d Write calls: not coalesced", n, writers*each)
	}
}

// TestCoalescingCloseSendsWhatWasQueued: amqp091-go answers a close the
// broker started by queuing close-ok and closing the socket at once; the
// answer must still go out.
func TestCoalescingCloseSendsWhatWasQueued(t *testing.T) {
	for range 20 {
		client, server := tcpPair(t)
		cc := newCoalescingConn(client)
		if _, err := cc.Write([]byte("close-ok")); err != nil {
			t.Fatal(err)
		}
		if err := cc.Close(); err != nil {
			t.Fatal(err)
		}
		_ = server.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(server)
		if err != nil || string(got) != "close-ok" {
			t.Fatalf("peer read %q, %v; want the bytes written before Close", got, err)
		}
	}
}

// TestCoalescingWriteErrorIsSticky: once the socket fails, Write reports
// the failure instead of queueing into a dead connection.
func TestCoalescingWriteErrorIsSticky(t *testing.T) {
	client, server := tcpPair(t)
	cc := newCoalescingConn(client)
	defer cc.Close()
	server.Close()
	testenv.Eventually(t, "a write to a connection closed by the peer to fail", func() bool {
		_, err := cc.Write(make([]byte, 64<<10))
		return err != nil
	})
	if _, err := cc.Write([]byte("x")); err == nil {
		t.Fatal("Write after a socket error succeeded")
	}
}

// TestCoalescingBoundsPendingAndCloseUnblocks: with a peer that does not
// read, Write blocks once maxPending bytes are queued (memory stays
// bounded), and Close still returns and releases the blocked writer.
func TestCoalescingBoundsPendingAndCloseUnblocks(t *testing.T) {
	client, _ := tcpPair(t) // the server end is never read
	cc := newCoalescingConn(client)
	var written atomic.Int64
	stuck := make(chan error, 1)
	go func() {
		chunk := make([]byte, 256<<10)
		for {
			n, err := cc.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				stuck <- err
				return
			}
		}
	}()
	// Wait until the writer stops making progress.
	var last int64 = -1
	for {
		time.Sleep(200 * time.Millisecond)
		n := written.Load()
		if n == last {
			break
		}
		last = n
	}
	cc.mu.Lock()
	pending := len(cc.pending)
	cc.mu.Unlock()
	if pending > maxPending {
		t.Fatalf("%d bytes queued, bound is %d", pending, maxPending)
	}
	closed := make(chan error, 1)
	go func() { closed <- cc.Close() }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung on a stalled socket")
	}
	select {
	case err := <-stuck:
		if err == nil {
			t.Fatal("blocked Write returned no error after Close")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a Write blocked on the bound was not released by Close")
	}
}

// flushers counts the goroutines running a coalescingConn's flusher.
func flushers() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "(*coalescingConn).flush(")
}

// TestCoalescingFlusherEndsWithConnection: closing a connection, or
// failing to open one, leaves no flusher behind.
func TestCoalescingFlusherEndsWithConnection(t *testing.T) {
	url := testenv.AMQP(t)
	before := flushers()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, Config{URL: url, Name: "test"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := flushers(); n <= before {
		t.Fatalf("%d flushers with an open connection, %d before: writes are not coalesced", n, before)
	}
	_ = c.Close()
	u, _ := neturl.Parse(url)
	u.User = neturl.UserPassword("guest", "wrong-password")
	bctx, bcancel := context.WithTimeout(ctx, 2*time.Second) // Dial retries until its context ends
	defer bcancel()
	if _, err := Dial(bctx, Config{URL: u.String(), Name: "test"}, nil, nil); err == nil {
		t.Fatal("dial with a wrong password succeeded")
	}
	testenv.Eventually(t, "no flusher left after Close and a failed dial", func() bool { return flushers() <= before })
}
