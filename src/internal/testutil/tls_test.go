package testutil

import (
	"crypto/tls"
	"testing"
)

func TestFreeAddrAndMutualTLS(t *testing.T) {
	m := MutualTLS(t)
	ln, err := tls.Listen("tcp", FreeAddr(t), m.Server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), m.Client)
	if err != nil {
		t.Fatalf("mutual TLS handshake: %v", err)
	}
	c.Close()
}
