package natsembed

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

func TestStart(t *testing.T) {
	s, err := Start(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()

	// A taken port: the server never listens, and Start says so.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = Start(&server.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true}, 2*time.Second)
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "127.0.0.1:") {
		t.Fatalf("a taken port: %v", err)
	}
}
