package keyring

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestSealOpenRoundTrip(t *testing.T) {
	r, err := NewRing(map[string]string{"k1": "pass-one"}, "k1")
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("the secret payload")
	sealed, label, err := r.Seal([]byte("tasks.payload"), plain)
	if err != nil {
		t.Fatal(err)
	}
	if label != "k1" {
		t.Fatalf("label = %q", label)
	}
	if bytes.Contains(sealed, plain) {
		t.Fatal("sealed record contains the plaintext")
	}
	got, err := r.Open([]byte("tasks.payload"), sealed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, plain) {
		t.Fatalf("got %q", got)
	}
	if l, _ := Label(sealed); l != "k1" {
		t.Fatalf("Label = %q", l)
	}
}

func TestOpenRejectsWrongColumn(t *testing.T) {
	r, _ := NewRing(map[string]string{"k1": "p"}, "k1")
	sealed, _, _ := r.Seal([]byte("a"), []byte("x"))
	if _, err := r.Open([]byte("b"), sealed); err == nil {
		t.Fatal("record moved to another column opened")
	}
}

func TestNoncesDiffer(t *testing.T) {
	r, _ := NewRing(map[string]string{"k1": "p"}, "k1")
	a, _, _ := r.Seal(nil, []byte("same"))
	b, _, _ := r.Seal(nil, []byte("same"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical")
	}
}

func TestRotationKeepsOldReadable(t *testing.T) {
	r, _ := NewRing(map[string]string{"old": "p1"}, "old")
	sealedOld, _, _ := r.Seal(nil, []byte("v"))
	if err := r.Replace(map[string]string{"old": "p1", "new": "p2"}, "new"); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Open(nil, sealedOld); err != nil || string(got) != "v" {
		t.Fatalf("old record after adding key: %q %v", got, err)
	}
	sealedNew, label, _ := r.Seal(nil, []byte("w"))
	if label != "new" {
		t.Fatalf("active = %q", label)
	}
	if err := r.Replace(map[string]string{"new": "p2"}, "new"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Open(nil, sealedOld); !errors.Is(err, ErrUnknownLabel) {
		t.Fatalf("old record after removing its key: %v", err)
	}
	if got, err := r.Open(nil, sealedNew); err != nil || string(got) != "w" {
		t.Fatalf("new record: %q %v", got, err)
	}
}

func TestWrongPassphraseFails(t *testing.T) {
	a, _ := NewRing(map[string]string{"k": "right"}, "k")
	b, _ := NewRing(map[string]string{"k": "wrong"}, "k")
	sealed, _, _ := a.Seal(nil, []byte("v"))
	if _, err := b.Open(nil, sealed); err == nil {
		t.Fatal("opened with the wrong passphrase")
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name   string
		keys   map[string]string
		active string
		want   string
	}{
		{"no keys", nil, "a", "no encryption keys"},
		{"active missing", map[string]string{"a": "p"}, "b", `active key label "b"`},
		{"colon", map[string]string{"a:b": "p"}, "a:b", "must not contain ':'"},
		{"long", map[string]string{strings.Repeat("x", 128): "p"}, "x", "longer than 127"},
		{"empty pass", map[string]string{"a": ""}, "a", "passphrase is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewRing(c.keys, c.active)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	r, _ := NewRing(map[string]string{"k": "p"}, "k")
	for _, in := range [][]byte{nil, {0x02, 1, 'k'}, {0x01, 5, 'k'}} {
		if _, err := r.Open(nil, in); !errors.Is(err, ErrMalformed) {
			t.Fatalf("Open(%v) = %v", in, err)
		}
	}
}

func BenchmarkSeal300B(b *testing.B) {
	r, _ := NewRing(map[string]string{"k": "p"}, "k")
	p := bytes.Repeat([]byte("x"), 300)
	b.ReportAllocs()
	for b.Loop() {
		r.Seal(nil, p)
	}
}

func TestOpenToReusesBuffer(t *testing.T) {
	r, _ := NewRing(map[string]string{"k": "p"}, "k")
	sealed, _, _ := r.Seal([]byte("a"), []byte("hello"))
	buf := make([]byte, 0, 64)
	out, err := r.OpenTo(buf, []byte("a"), sealed)
	if err != nil || string(out) != "hello" || &out[0] != &buf[:1][0] {
		t.Fatalf("OpenTo = %q, %v (reused buffer: %v)", out, err, err == nil && &out[0] == &buf[:1][0])
	}
	aad := []byte("a")
	if n := testing.AllocsPerRun(100, func() { _, _ = r.OpenTo(buf[:0], aad, sealed) }); n != 0 {
		t.Fatalf("OpenTo allocates %v times per call", n)
	}
}

func BenchmarkOpenTo300B(b *testing.B) {
	r, _ := NewRing(map[string]string{"k": "p"}, "k")
	sealed, _, _ := r.Seal(nil, bytes.Repeat([]byte("x"), 300))
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = r.OpenTo(buf[:0], nil, sealed)
	}
}
