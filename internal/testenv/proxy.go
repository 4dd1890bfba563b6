package testenv

import (
	"net"
	"sync"
	"testing"
)

// Proxy is a TCP proxy to a server for fault injection: Freeze makes it
// hold every byte (a hung server, or a connection that died without a
// FIN: the client waits for answers that do not come), Cut drops every
// connection and refuses new ones (the server is unreachable), Restore
// undoes both.
type Proxy struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	thaw     chan struct{} // closed while not frozen
	cut      bool
	conns    map[net.Conn]struct{}
}

// NewProxy proxies a free loopback port to upstream until the test ends.
func NewProxy(tb testing.TB, upstream string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{ln: ln, upstream: upstream, thaw: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	close(p.thaw)
	tb.Cleanup(p.close)
	go p.accept()
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cut := p.cut
		p.mu.Unlock()
		if cut {
			_ = c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.upstream)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[u] = struct{}{}, struct{}{}
		p.mu.Unlock()
		go p.pipe(c, u)
		go p.pipe(u, c)
	}
}

func (p *Proxy) pipe(dst, src net.Conn) {
	defer func() {
		_ = dst.Close()
		p.mu.Lock()
		delete(p.conns, dst)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			thaw := p.thaw
			p.mu.Unlock()
			<-thaw // hold what was read while frozen
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Freeze holds every byte in both directions until Restore.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.thaw:
		p.thaw = make(chan struct{})
	default: // already frozen
	}
}

// Cut closes every proxied connection and refuses new ones until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		_ = c.Close()
	}
}

// Restore passes bytes and accepts connections again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
	select {
	case <-p.thaw:
	default:
		close(p.thaw)
	}
}

func (p *Proxy) close() {
	p.Restore()
	_ = p.ln.Close()
	p.Cut()
}
