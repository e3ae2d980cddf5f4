package keyring

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// FuzzVaultKeyDoc: whatever Vault answers to the read of the key ring secret
// (the whole KV v2 response body), Read either returns a document that
// Validate accepts, that builds a ring which seals and opens, and that
// survives toData/docFromData unchanged; or an error naming the secret.
func FuzzVaultKeyDoc(f *testing.F) {
	kv := func(data any) []byte {
		b, err := json.Marshal(map[string]any{"data": map[string]any{"data": data, "metadata": map[string]any{"version": 3}}})
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add(kv(map[string]any{"active_key_label": "k1", "keys": map[string]any{"k1": "pass1", "k2": "pass2"}}))
	f.Add(kv(map[string]any{"active_key_label": "k2", "keys": map[string]any{"k1": "pass1", "k2": "pass2"}, "rotating_to": "k2"}))
	f.Add(kv(map[string]any{"active_key_label": "k3", "keys": map[string]any{"k1": "pass1"}}))
	f.Add(kv(map[string]any{"active_key_label": "a:b", "keys": map[string]any{"a:b": "p"}}))
	f.Add(kv(map[string]any{"active_key_label": "k", "keys": map[string]any{"k": ""}}))
	f.Add(kv(map[string]any{"active_key_label": "k", "keys": map[string]any{"k": 7}}))
	f.Add(kv(map[string]any{"active_key_label": 1, "keys": []any{"k"}}))
	f.Add(kv(map[string]any{"active_key_label": "k", "keys": map[string]any{"k": "p"}, "rotating_to": 5}))
	f.Add(kv(map[string]any{"active_key_label": strings.Repeat("l", 128), "keys": map[string]any{strings.Repeat("l", 128): "p"}}))
	f.Add(kv(nil))
	f.Add([]byte(`{"data":{"data":null,"metadata":{"version":2,"deletion_time":"2024-01-01T00:00:00Z"}}}`))
	f.Add([]byte(`{"data":null}`))
	f.Add([]byte(`{"data":{"metadata":{"version":"x"}}}`))
	f.Add([]byte(`{`))

	var body atomic.Pointer[[]byte]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*body.Load())
	}))
	f.Cleanup(srv.Close)
	v, err := NewVault(VaultConfig{Address: srv.URL, Mount: "secret", Path: "diego/bbs/encryption", Token: "t", Timeout: 10 * time.Second, MaxRetries: -1})
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		body.Store(&data)
		d, version, err := v.Read(context.Background())
		if err != nil {
			if msg := err.Error(); !strings.Contains(msg, "secret/data/diego/bbs/encryption") || !strings.Contains(msg, srv.URL) {
				t.Errorf("error %q does not name the secret and the Vault (%s)", err, v.Where())
			}
			return
		}
		if version < 0 {
			t.Errorf("version %d", version)
		}
		if verr := d.Validate(); verr != nil {
			t.Fatalf("Read returned a document Validate refuses: %v", verr)
		}
		ring, err := NewRing(d.Keys, d.ActiveKeyLabel)
		if err != nil {
			t.Fatalf("a valid document does not build a ring: %v", err)
		}
		sealed, label, err := ring.Seal([]byte("aad"), []byte("secret"))
		if err != nil || label != d.ActiveKeyLabel {
			t.Fatalf("sealing with %q: label %q, %v", d.ActiveKeyLabel, label, err)
		}
		if opened, err := ring.Open([]byte("aad"), sealed); err != nil || !bytes.Equal(opened, []byte("secret")) {
			t.Fatalf("open(seal(x)) = %q, %v", opened, err)
		}
		again, err := docFromData(d.toData())
		if err != nil || !reflect.DeepEqual(again, d) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, d)
		}
	})
}
