// Command standin serves the vaulttest Vault stand-in outside `go test`, for
// tests that deploy the release (tools/deploylocal TestRotateErrandLocal: the
// BBS reads its key ring from it, the rotate-encryption-key errand rotates
// it). TEST ONLY: it is not a Vault replacement. Secrets live in memory and
// are lost when it exits; its root token and AppRoles carry the root policy
// (every path); there is no persistence, sealing or audit.
//
//	standin -listen 0.0.0.0:0 -tls -cert-host 10.245.0.1 -dir DIR \
//	    -keyring '{"active_key_label":"k1","keys":{"k1":"passphrase"}}' \
//	    -approle bbs -approle rotation
//
// It seeds the key ring secret (-mount/-path, KV v2) from -keyring (JSON, or
// @FILE), creates one AppRole per -approle NAME[:POLICY] (POLICY root, the
// default, or the documented bbs or rotation policy on -mount/-path:
// docs/key-rotation.md), prints one JSON line to stdout and serves until
// SIGINT or SIGTERM:
//
//	{"url": "https://0.0.0.0:PORT", "port": PORT, "root_token": "hvs...",
//	 "ca_cert_file": "DIR/vault-certs/ca.crt", "ca_cert": "PEM",
//	 "approles": {"bbs": {"role_id": "...", "secret_id": "..."}, ...}}
//
// -info FILE writes the same JSON to FILE too.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/diego-go/diego/src/internal/vaulttest"
)

type appRole struct {
	RoleID   string `json:"role_id"`
	SecretID string `json:"secret_id"`
}

type info struct {
	URL        string             `json:"url"`
	Port       int                `json:"port"`
	RootToken  string             `json:"root_token"`
	CACertFile string             `json:"ca_cert_file,omitempty"`
	CACert     string             `json:"ca_cert,omitempty"`
	AppRoles   map[string]appRole `json:"approles"`
	Mount      string             `json:"mount"`
	Path       string             `json:"path"`
	Version    int                `json:"version,omitempty"` // of the seeded key ring
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "vault standin:", err)
		os.Exit(1)
	}
}

func run() error {
	var certHosts, roles []string
	appendTo := func(l *[]string) func(string) error {
		return func(v string) error { *l = append(*l, v); return nil }
	}
	listen := flag.String("listen", "127.0.0.1:8200", "address to listen on (port 0: a free one)")
	useTLS := flag.Bool("tls", false, "serve https with a certificate from a fresh CA (in -dir)")
	dir := flag.String("dir", "", "directory for the TLS certificates (with -tls)")
	mount := flag.String("mount", "secret", "KV v2 mount")
	path := flag.String("path", "diego/bbs/encryption", "path of the key ring secret under -mount")
	keyring := flag.String("keyring", "", "key ring document to seed at -mount/-path: JSON or @FILE (empty: none)")
	infoFile := flag.String("info", "", "also write the JSON line to this file")
	flag.Func("cert-host", "another name or IP for the TLS certificate (repeatable)", appendTo(&certHosts))
	flag.Func("approle", "create an AppRole NAME[:POLICY], POLICY root (default), bbs or rotation (repeatable)", appendTo(&roles))
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", flag.Args())
	}
	if *useTLS && *dir == "" {
		return fmt.Errorf("-tls needs -dir")
	}

	s, err := vaulttest.New(vaulttest.Options{TLS: *useTLS, Mounts: []string{*mount}, Listen: *listen, CertHosts: certHosts}, *dir)
	if err != nil {
		return err
	}
	defer s.Down()
	out := info{URL: s.URL, RootToken: s.RootToken, CACertFile: s.CACertFile, AppRoles: map[string]appRole{}, Mount: *mount, Path: *path}
	if _, p, err := net.SplitHostPort(s.Addr()); err == nil {
		out.Port, _ = strconv.Atoi(p)
	}
	if s.CACertFile != "" {
		b, err := os.ReadFile(s.CACertFile)
		if err != nil {
			return err
		}
		out.CACert = string(b)
	}
	s.SetPolicy("bbs", vaulttest.BBSPolicy(*mount, *path))
	s.SetPolicy("rotation", vaulttest.RotationPolicy(*mount, *path))
	for _, r := range roles {
		name, policy, _ := strings.Cut(r, ":")
		switch policy {
		case "", vaulttest.RootPolicy:
			policy = vaulttest.RootPolicy
		case "bbs", "rotation":
		default:
			return fmt.Errorf("-approle %s: policy %q: want root, bbs or rotation", r, policy)
		}
		id, secret := s.AddAppRoleWithPolicies(policy)
		out.AppRoles[name] = appRole{RoleID: id, SecretID: secret}
	}
	if *keyring != "" {
		raw := []byte(*keyring)
		if f, ok := strings.CutPrefix(*keyring, "@"); ok {
			if raw, err = os.ReadFile(f); err != nil {
				return err
			}
		}
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			return fmt.Errorf("-keyring: %w", err)
		}
		out.Version = s.Put(*mount, *path, doc)
	}
	line, err := json.Marshal(out)
	if err != nil {
		return err
	}
	if *infoFile != "" {
		if err := os.WriteFile(*infoFile, append(line, '\n'), 0o600); err != nil {
			return err
		}
	}
	fmt.Println(string(line))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	got := <-sig
	fmt.Fprintf(os.Stderr, "vault standin: %s, stopping (requests: %v)\n", got, s.Requests())
	return nil
}
