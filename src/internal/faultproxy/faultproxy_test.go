package faultproxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// echoServer answers each line with the same line.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(c net.Conn, msg string) (string, error) {
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte(msg + "\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return line, err
}

func dialEcho(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if got, err := roundTrip(c, "hello"); err != nil || got != "hello\n" {
		t.Fatalf("through the proxy: %q, %v", got, err)
	}
	return c
}

func newProxy(t *testing.T) *Proxy {
	t.Helper()
	p, err := New(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestRefuse(t *testing.T) {
	p := newProxy(t)
	old := dialEcho(t, p.Addr())
	p.Cut(Refuse)
	if !p.IsCut() {
		t.Fatal("IsCut false after Cut")
	}
	if _, err := roundTrip(old, "again"); err == nil {
		t.Fatal("a connection open before the cut still works")
	}
	_, err := net.DialTimeout("tcp", p.Addr(), time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial while cut: %v, want connection refused", err)
	}
	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	dialEcho(t, p.Addr())
}

func TestBlackhole(t *testing.T) {
	p := newProxy(t)
	old := dialEcho(t, p.Addr())
	p.Cut(Blackhole)
	// Open connections stall: a request gets no answer (a timeout, not a reset).
	_, err := roundTrip(old, "stalled")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("open connection during a blackhole: %v, want a timeout", err)
	}
	// New connections are accepted and never answered.
	fresh, err := net.DialTimeout("tcp", p.Addr(), time.Second)
	if err != nil {
		t.Fatalf("dial during a blackhole: %v (want accepted)", err)
	}
	defer fresh.Close()
	if _, err := roundTrip(fresh, "unanswered"); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("new connection during a blackhole: %v, want a timeout", err)
	}
	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	// Stalled connections are reset; new ones work.
	_ = old.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := old.Read(make([]byte, 10)); err == nil {
		t.Fatal("a connection stalled by the cut still reads after Restore")
	}
	dialEcho(t, p.Addr())
}

func TestCutTwiceAndRestoreUncut(t *testing.T) {
	p := newProxy(t)
	if err := p.Restore(); err != nil {
		t.Fatalf("Restore of an uncut proxy: %v", err)
	}
	p.Cut(Blackhole)
	p.Cut(Refuse) // ignored: already cut
	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	dialEcho(t, p.Addr())
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		t.Fatal("dial after Close succeeded")
	}
}
