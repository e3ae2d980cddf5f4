package sshd

import (
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// dialTimeout bounds a direct-tcpip channel's connection attempt.
const dialTimeout = 10 * time.Second

// serveDirectTCPIP connects a direct-tcpip channel (ssh -L) to its target
// (RFC 4254 7.2).
func serveDirectTCPIP(log *slog.Logger, nch ssh.NewChannel) {
	var m struct {
		Host       string
		Port       uint32
		OriginHost string
		OriginPort uint32
	}
	if err := ssh.Unmarshal(nch.ExtraData(), &m); err != nil {
		nch.Reject(ssh.ConnectionFailed, "Failed to parse open channel message")
		return
	}
	target := net.JoinHostPort(m.Host, strconv.Itoa(int(m.Port)))
	conn, err := net.DialTimeout("tcp", target, dialTimeout)
	if err != nil {
		log.Info("sshd.direct-tcpip-dial-failed", "target", target, "error", err)
		nch.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nch.Accept()
	if err != nil {
		conn.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	Splice(ch, conn.(*net.TCPConn))
}

// halfCloser is a connection whose write side closes on its own.
type halfCloser interface {
	io.ReadWriteCloser
	CloseWrite() error
}

// Splice copies both ways between a and b, passing each end-of-file on as a
// half-close, and closes both when both directions are done.
func Splice(a, b halfCloser) {
	var wg sync.WaitGroup
	wg.Add(2)
	cp := func(dst, src halfCloser) {
		defer wg.Done()
		io.Copy(dst, src)
		dst.CloseWrite()
	}
	go cp(a, b)
	go cp(b, a)
	wg.Wait()
	a.Close()
	b.Close()
}

// forwards serves a connection's tcpip-forward requests (ssh -R): the
// listeners it opened, closed with the connection.
type forwards struct {
	conn ssh.Conn
	log  *slog.Logger
	mu   sync.Mutex
	lns  map[string]net.Listener
}

func newForwards(conn ssh.Conn, log *slog.Logger) *forwards {
	return &forwards{conn: conn, log: log, lns: map[string]net.Listener{}}
}

type forwardRequest struct {
	Addr string
	Port uint32
}

func (f *forwards) serveGlobalRequests(reqs <-chan *ssh.Request) {
	for req := range reqs {
		switch req.Type {
		case "tcpip-forward":
			f.listen(req)
		case "cancel-tcpip-forward":
			var m forwardRequest
			ok := ssh.Unmarshal(req.Payload, &m) == nil && f.cancel(net.JoinHostPort(m.Addr, strconv.Itoa(int(m.Port))))
			req.Reply(ok, nil)
		default:
			if req.WantReply {
				req.Reply(false, nil)
			}
		}
	}
}

func (f *forwards) listen(req *ssh.Request) {
	var m forwardRequest
	if err := ssh.Unmarshal(req.Payload, &m); err != nil {
		req.Reply(false, nil)
		return
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(m.Addr, strconv.Itoa(int(m.Port))))
	if err != nil {
		f.log.Info("sshd.tcpip-forward-listen-failed", "address", m.Addr, "port", m.Port, "error", err)
		req.Reply(false, nil)
		return
	}
	port := uint32(ln.Addr().(*net.TCPAddr).Port)
	f.mu.Lock()
	f.lns[net.JoinHostPort(m.Addr, strconv.Itoa(int(port)))] = ln
	if m.Port == 0 {
		f.lns[net.JoinHostPort(m.Addr, "0")] = ln
	}
	f.mu.Unlock()
	var payload []byte
	if m.Port == 0 {
		payload = ssh.Marshal(struct{ Port uint32 }{port})
	}
	req.Reply(true, payload)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.forward(c, m.Addr, port)
		}
	}()
}

func (f *forwards) forward(c net.Conn, addr string, port uint32) {
	origin := c.RemoteAddr().(*net.TCPAddr)
	ch, reqs, err := f.conn.OpenChannel("forwarded-tcpip", ssh.Marshal(struct {
		Addr       string
		Port       uint32
		OriginAddr string
		OriginPort uint32
	}{addr, port, origin.IP.String(), uint32(origin.Port)}))
	if err != nil {
		c.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	Splice(ch, c.(*net.TCPConn))
}

func (f *forwards) cancel(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	ln, ok := f.lns[key]
	if ok {
		ln.Close()
		for k, l := range f.lns {
			if l == ln {
				delete(f.lns, k)
			}
		}
	}
	return ok
}

func (f *forwards) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, ln := range f.lns {
		ln.Close()
		delete(f.lns, k)
	}
}
