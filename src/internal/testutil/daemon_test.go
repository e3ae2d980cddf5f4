package testutil

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
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

func TestWriteJSON(t *testing.T) {
	path := WriteJSON(t, "x.json", map[string]int{"a": 1})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]int
	if err := json.Unmarshal(data, &got); err != nil || got["a"] != 1 {
		t.Errorf("%s holds %s (%v)", path, data, err)
	}
}

// TestCheckDaemonFlags runs the check against a fake command that behaves.
func TestCheckDaemonFlags(t *testing.T) {
	execute := func(_ context.Context, args []string, stdout, _ io.Writer) error {
		switch {
		case len(args) == 1 && args[0] == "-version":
			fmt.Fprintln(stdout, "x 1.0")
		case len(args) == 0:
			return errors.New("-config is required")
		case args[1] == "good":
			fmt.Fprintln(stdout, "config OK: good")
		default:
			return errors.New("field is wrong")
		}
		return nil
	}
	CheckDaemonFlags(t, execute, "x", "good", "bad", "field")
}
