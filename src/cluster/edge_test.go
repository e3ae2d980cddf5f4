package cluster

import (
	"net/http"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/diego-go/diego/src/target"
)

// checkEdge checks that the target names a NATS server that takes
// publications and a file server that serves the static directory.
func checkEdge(t *testing.T, tgt target.File) {
	t.Helper()
	nc, err := nats.Connect(tgt.NATSURL)
	if err != nil {
		t.Fatalf("the target's NATS %q: %v", tgt.NATSURL, err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("diego.up.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("diego.up.test", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(10e9); err != nil || string(m.Data) != "hi" {
		t.Fatalf("NATS round trip: %v %v", m, err)
	}
	resp, err := http.Get(tgt.FileServerURL + "/v1/static/no-such-bundle.tgz")
	if err != nil {
		t.Fatalf("the target's file server %q: %v", tgt.FileServerURL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("file server: a missing bundle answered %s, want 404", resp.Status)
	}
}
