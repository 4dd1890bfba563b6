package edge

import (
	"io"
	"net"
	"sync/atomic"
	"time"
)

// Lingering close: when fasthttp refuses an oversize body it writes the 413
// and closes the connection while the client may still be sending. Closing
// a socket with unread data makes the kernel send a RST, and the client
// usually sees "connection reset" instead of the 413 (fasthttp #1348). So
// such a connection is half-closed (our side done writing), what the client
// still sends is read and discarded for a bounded time and size, then the
// socket is closed — what nginx calls lingering_close.
const (
	lingerTimeout = 3 * time.Second
	lingerMax     = 16 << 20
)

type lingerListener struct{ net.Listener }

func (l lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &lingerConn{Conn: c}, nil
}

type lingerConn struct {
	net.Conn
	linger atomic.Bool
	closed atomic.Bool
}

func (c *lingerConn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	if !c.linger.Load() {
		return c.Conn.Close()
	}
	if tc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	go func() {
		_ = c.Conn.SetReadDeadline(time.Now().Add(lingerTimeout))
		_, _ = io.CopyN(io.Discard, c.Conn, lingerMax)
		_ = c.Conn.Close()
	}()
	return nil
}
