package sshproxy

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestFingerprintForms(t *testing.T) {
	keys, err := NewInstanceKeys()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey([]byte(keys.HostKeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	pub := signer.PublicKey()
	sum := sha256.Sum256(pub.Marshal())
	padded := base64.StdEncoding.EncodeToString(sum[:])
	m5, s1 := md5.Sum(pub.Marshal()), sha1.Sum(pub.Marshal())
	if keys.HostFingerprint != RouteFingerprint(pub) || len(keys.HostFingerprint) != 43 {
		t.Fatalf("route fingerprint %q", keys.HostFingerprint)
	}
	if HostFingerprint(pub) != "SHA256:"+keys.HostFingerprint {
		t.Fatalf("host fingerprint %q", HostFingerprint(pub))
	}
	for _, good := range []string{keys.HostFingerprint, padded, HostFingerprint(pub), colonHex(m5[:]), colonHex(s1[:])} {
		if !FingerprintMatches(good, pub) {
			t.Errorf("%q should match", good)
		}
	}
	other, _ := NewInstanceKeys()
	for _, bad := range []string{"", "SHA256:", other.HostFingerprint, colonHex(make([]byte, 16))} {
		if FingerprintMatches(bad, pub) {
			t.Errorf("%q should not match", bad)
		}
	}
}

func TestParseLogin(t *testing.T) {
	l, err := ParseLogin("diego:my_guid-1/12")
	if err != nil || l != (Login{"diego", "my_guid-1", 12}) {
		t.Fatalf("%+v %v", l, err)
	}
	for _, bad := range []string{"diego:g/", "diego:g/-1", "diego:/0", "x", "diego:g/0/1", "diego:g h/0"} {
		if _, err := ParseLogin(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestDiegoRealm(t *testing.T) {
	login := Login{"diego", "pg", 1}
	if g, err := (DiegoRealm{Credentials: []byte("pw")}).Authenticate(context.Background(), login, []byte("pw")); err != nil || g.ProcessGUID != "pg" || g.Index != 1 {
		t.Fatalf("the right password: %+v %v", g, err)
	}
	for _, r := range []struct{ creds, pw string }{{"pw", "pW"}, {"pw", ""}, {"", ""}} {
		if _, err := (DiegoRealm{Credentials: []byte(r.creds)}).Authenticate(context.Background(), login, []byte(r.pw)); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("credentials %q, password %q: %v", r.creds, r.pw, err)
		}
	}
}
