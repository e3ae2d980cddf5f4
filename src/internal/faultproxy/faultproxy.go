// Package faultproxy is a TCP proxy a test can cut and restore, to take a
// dependency (a database, a component) off the network and bring it back.
package faultproxy

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Mode is how a cut proxy treats connections.
type Mode int

const (
	// Refuse resets the open connections and closes the listener: new
	// connections are refused (ECONNREFUSED) until Restore, as when the
	// server's host is up but the server is not.
	Refuse Mode = iota
	// Blackhole stalls the open connections (no byte passes either way)
	// and accepts new ones without ever answering, as a network partition
	// does; Restore resets every connection the cut stalled.
	Blackhole
)

func (m Mode) String() string {
	if m == Blackhole {
		return "blackhole"
	}
	return "refuse"
}

// Proxy forwards 127.0.0.1:<port> to an upstream address.
type Proxy struct {
	upstream string
	addr     string

	mu     sync.Mutex
	ln     net.Listener
	cut    bool
	mode   Mode
	gate   chan struct{} // closed while traffic flows
	conns  map[net.Conn]bool
	closed bool
	wg     sync.WaitGroup
}

// New listens on 127.0.0.1 at a free port and forwards to upstream.
func New(upstream string) (*Proxy, error) {
	return Listen("127.0.0.1:0", upstream)
}

// Listen listens on addr and forwards to upstream.
func Listen(addr, upstream string) (*Proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fault proxy for %s: %w", upstream, err)
	}
	open := make(chan struct{})
	close(open)
	p := &Proxy{upstream: upstream, addr: ln.Addr().String(), ln: ln, gate: open, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept(ln)
	return p, nil
}

// Addr is the proxy's listening address (host:port).
func (p *Proxy) Addr() string { return p.addr }

// Upstream is the address the proxy forwards to.
func (p *Proxy) Upstream() string { return p.upstream }

// Cut takes the upstream off the network in mode until Restore.
func (p *Proxy) Cut(mode Mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut || p.closed {
		return
	}
	p.cut, p.mode = true, mode
	p.gate = make(chan struct{})
	if mode == Refuse {
		_ = p.ln.Close()
		p.resetAll()
	}
}

// IsCut reports whether the proxy is cut.
func (p *Proxy) IsCut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut
}

// Restore lets traffic through again: connections stalled by a Blackhole
// cut are reset (their clients reconnect), and after a Refuse cut the
// proxy listens again on the same address.
func (p *Proxy) Restore() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.cut || p.closed {
		return nil
	}
	if p.mode == Refuse {
		var ln net.Listener
		var err error
		for deadline := time.Now().Add(5 * time.Second); ; {
			if ln, err = net.Listen("tcp", p.addr); err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("fault proxy: listening again on %s: %w", p.addr, err)
		}
		p.ln = ln
		p.wg.Add(1)
		go p.accept(ln)
	} else {
		p.resetAll()
	}
	p.cut = false
	close(p.gate)
	return nil
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	err := p.ln.Close()
	p.resetAll()
	if p.cut {
		close(p.gate)
	}
	p.mu.Unlock()
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// resetAll closes every connection with a reset; p.mu is held.
func (p *Proxy) resetAll() {
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
		delete(p.conns, c)
	}
}

// track registers c unless the proxy is closed.
func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range cs {
		p.conns[c] = true
	}
	return true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

func (p *Proxy) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return // closed: Cut(Refuse) or Close
		}
		p.wg.Add(1)
		go p.handle(c)
	}
}

// handle connects c to the upstream once traffic flows, and copies both
// ways.
func (p *Proxy) handle(c net.Conn) {
	defer p.wg.Done()
	if !p.track(c) {
		_ = c.Close()
		return
	}
	// A connection accepted during a blackhole waits (unanswered) until
	// Restore resets it.
	p.mu.Lock()
	gate := p.gate
	p.mu.Unlock()
	<-gate
	p.mu.Lock()
	stillOpen := p.conns[c]
	p.mu.Unlock()
	if !stillOpen {
		return
	}
	up, err := net.DialTimeout("tcp", p.upstream, 10*time.Second)
	if err != nil {
		p.untrack(c)
		_ = c.Close()
		return
	}
	if !p.track(up) {
		_ = up.Close()
		_ = c.Close()
		return
	}
	done := make(chan struct{}, 2)
	go func() { p.copy(up, c); done <- struct{}{} }()
	go func() { p.copy(c, up); done <- struct{}{} }()
	<-done
	p.untrack(c, up)
	_ = c.Close()
	_ = up.Close()
	<-done
}

// copy moves bytes from src to dst, holding each chunk while the proxy is
// cut.
func (p *Proxy) copy(dst, src net.Conn) {
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			gate := p.gate
			p.mu.Unlock()
			<-gate
			p.mu.Lock()
			open := p.conns[src] && p.conns[dst]
			p.mu.Unlock()
			if !open {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or closed: handle closes both sides
		}
	}
}
