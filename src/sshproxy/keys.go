package sshproxy

import (
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// HostFingerprint is a host key's fingerprint as OpenSSH prints it
// ("SHA256:" and unpadded base64): the form of target.json's
// ssh_proxy_host_fingerprint, which `diego ssh` checks.
func HostFingerprint(key ssh.PublicKey) string { return ssh.FingerprintSHA256(key) }

// RouteFingerprint is the form the reference keeps in a diego-ssh route's
// host_fingerprint: the SHA256 fingerprint's unpadded base64, without the
// "SHA256:" prefix.
func RouteFingerprint(key ssh.PublicKey) string {
	return strings.TrimPrefix(ssh.FingerprintSHA256(key), "SHA256:")
}

// FingerprintMatches says whether key has the fingerprint want, in any form
// the reference accepts: SHA256 base64 (padded or not, with or without
// "SHA256:"), or the colon-separated hex of MD5 (47 characters) or SHA1 (59).
func FingerprintMatches(want string, key ssh.PublicKey) bool {
	want = strings.TrimSpace(want)
	switch {
	case len(want) == 47 && strings.Count(want, ":") == 15:
		sum := md5.Sum(key.Marshal())
		return strings.EqualFold(want, colonHex(sum[:]))
	case len(want) == 59 && strings.Count(want, ":") == 19:
		sum := sha1.Sum(key.Marshal())
		return strings.EqualFold(want, colonHex(sum[:]))
	}
	want = strings.TrimRight(strings.TrimPrefix(want, "SHA256:"), "=")
	return want != "" && want == RouteFingerprint(key)
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts, ":")
}

// RouteKey is the desired LRP route that says how to reach an instance's
// SSH daemon.
const RouteKey = "diego-ssh"

// Route is the diego-ssh route's JSON (the reference's fields).
type Route struct {
	ContainerPort   uint32 `json:"container_port"`
	HostFingerprint string `json:"host_fingerprint,omitempty"`
	User            string `json:"user,omitempty"`
	Password        string `json:"password,omitempty"`
	PrivateKey      string `json:"private_key,omitempty"`
}

// InstanceKeys are the keys an LRP with SSH access carries: the daemon's
// host key and the key the proxy logs in with.
type InstanceKeys struct {
	// HostKeyPEM is diego-sshd's -hostKey; HostFingerprint its route form.
	HostKeyPEM, HostFingerprint string
	// PrivateKeyPEM goes in the route; AuthorizedKey is diego-sshd's
	// -authorizedKey.
	PrivateKeyPEM, AuthorizedKey string
}

// NewInstanceKeys generates a host key and a login key (Ed25519).
func NewInstanceKeys() (InstanceKeys, error) {
	hostPEM, host, err := newKey()
	if err != nil {
		return InstanceKeys{}, err
	}
	userPEM, user, err := newKey()
	if err != nil {
		return InstanceKeys{}, err
	}
	return InstanceKeys{
		HostKeyPEM: hostPEM, HostFingerprint: RouteFingerprint(host.PublicKey()),
		PrivateKeyPEM: userPEM, AuthorizedKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(user.PublicKey()))),
	}, nil
}

func newKey() (string, ssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", nil, fmt.Errorf("generating a key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return "", nil, fmt.Errorf("encoding a key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return "", nil, err
	}
	return string(pem.EncodeToMemory(block)), signer, nil
}

// Route is the diego-ssh route value for a daemon on containerPort.
func (k InstanceKeys) Route(containerPort uint32) json.RawMessage {
	b, _ := json.Marshal(Route{ContainerPort: containerPort, HostFingerprint: k.HostFingerprint, PrivateKey: k.PrivateKeyPEM})
	return b
}

// SSHDArgs are diego-sshd's arguments for these keys, listening on
// 0.0.0.0:containerPort, with the app's environment in its sessions. On a
// cell without network isolation (the process backend) replace the
// -address with "-address=0.0.0.0:$PORT" and give the action PORT=<port>:
// the cell sets PORT to the host port it mapped.
func (k InstanceKeys) SSHDArgs(containerPort uint32) []string {
	return []string{
		fmt.Sprintf("-address=0.0.0.0:%d", containerPort),
		"-hostKey=" + k.HostKeyPEM,
		"-authorizedKey=" + k.AuthorizedKey,
		"-inheritDaemonEnv",
		"-logLevel=fatal",
	}
}
