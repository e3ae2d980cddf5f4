package acceptance

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha1"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"golang.org/x/crypto/ssh"

	"github.com/diego-go/diego/src/internal/testutil"
)

// sshContainerPort is the port diego-sshd listens on in every instance, as
// Cloud Controller sets it.
const sshContainerPort = 2222

// sshKeys are what Cloud Controller generates for an app with SSH on: the
// daemon's host key, and the key pair the proxy uses to reach the daemon.
type sshKeys struct {
	hostKeyPEM, privateKeyPEM, authorizedKey, hostFingerprint string
}

func newSSHKeys(t *testing.T) sshKeys {
	t.Helper()
	pemOf := func() (string, ssh.PublicKey) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		block, err := ssh.MarshalPrivateKey(priv, "")
		if err != nil {
			t.Fatal(err)
		}
		signer, err := ssh.NewSignerFromKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(block)), signer.PublicKey()
	}
	var k sshKeys
	var hostPub, userPub ssh.PublicKey
	k.hostKeyPEM, hostPub = pemOf()
	k.privateKeyPEM, userPub = pemOf()
	k.authorizedKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(userPub)))
	// Cloud Controller sends the SHA-1 fingerprint, colon-separated hex.
	sum := sha1.Sum(hostPub.Marshal())
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02x", b)
	}
	k.hostFingerprint = strings.Join(hexes, ":")
	return k
}

// sshLRP is the sample app with SSH on, shaped as Cloud Controller shapes
// it: diego-sshd from the lifecycle bundle as a cached dependency at
// /tmp/lifecycle, run codependently with the app, and the diego-ssh route
// naming its port, the proxy's key and the daemon's host fingerprint.
func (e *env) sshLRP(t *testing.T, processGuid, domain string, keys sshKeys) *models.DesiredLRP {
	t.Helper()
	lrp := e.appLRP(processGuid, domain, 1)
	lrp.Ports = append(lrp.Ports, sshContainerPort)
	lrp.CachedDependencies = []*models.CachedDependency{{
		Name: "diego-sshd", From: e.cfg.SSHDBundleURL, To: "/tmp/lifecycle", CacheKey: "diego-sshd",
	}}
	sshd := &models.RunAction{
		Path: "/tmp/lifecycle/diego-sshd", User: "vcap",
		Args: []string{
			"-address=0.0.0.0:$PORT",
			"-hostKey=" + keys.hostKeyPEM,
			"-authorizedKey=" + keys.authorizedKey,
			"-inheritDaemonEnv",
			"-logLevel=fatal",
		},
		// PORT names the container port: a backend without network
		// isolation (process) turns it into the host port to listen on.
		Env: []*models.EnvironmentVariable{{Name: "PORT", Value: strconv.Itoa(sshContainerPort)}},
	}
	lrp.Action = models.WrapAction(models.Codependent(lrp.Action.RunAction, sshd))
	route, err := json.Marshal(map[string]any{
		"container_port": sshContainerPort, "private_key": keys.privateKeyPEM, "host_fingerprint": keys.hostFingerprint,
	})
	if err != nil {
		t.Fatal(err)
	}
	raw := json.RawMessage(route)
	lrp.Routes = &models.Routes{"diego-ssh": &raw}
	return lrp
}

// sshClient runs Debian's OpenSSH client programs against the proxy as
// user diego:GUID/INDEX, answering the password prompt with the diego
// realm's credentials through SSH_ASKPASS.
type sshClient struct {
	e                    *env
	dir, knownHosts, env string
	host, port, user     string
}

func (e *env) sshClient(t *testing.T, processGuid string, index int) *sshClient {
	t.Helper()
	for _, prog := range []string{"ssh", "scp", "sftp", "ssh-keygen"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Fatalf("the ssh group drives Debian's OpenSSH client: %s not found (apt-get install openssh-client; ci/dev/ensure-services.sh does)", prog)
		}
	}
	host, port, err := net.SplitHostPort(e.cfg.SSHProxyAddress)
	if err != nil {
		t.Fatalf("ssh_proxy_address %q: %v", e.cfg.SSHProxyAddress, err)
	}
	dir := t.TempDir()
	askpass := filepath.Join(dir, "askpass")
	if err := os.WriteFile(filepath.Join(dir, "password"), []byte(e.cfg.SSHProxyDiegoCredentials), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(askpass, []byte("#!/bin/sh\nexec cat "+filepath.Join(dir, "password")+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return &sshClient{e: e, dir: dir, knownHosts: filepath.Join(dir, "known_hosts"), env: askpass,
		host: host, port: port, user: fmt.Sprintf("diego:%s/%d", processGuid, index)}
}

// options are the client options every program gets: a fresh known_hosts
// (the proxy's key is checked against the configured fingerprint below),
// password auth only, no agent, no config files.
func (c *sshClient) options() []string {
	return []string{
		"-F", "/dev/null",
		"-o", "UserKnownHostsFile=" + c.knownHosts, "-o", "StrictHostKeyChecking=accept-new",
		"-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no",
		"-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=30", "-o", "BatchMode=no",
		"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
	}
}

// run runs prog (ssh, scp, sftp) with the options and args, returning its
// combined output.
func (c *sshClient) run(ctx context.Context, stdin io.Reader, prog string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, prog, append(c.options(), args...)...)
	cmd.Env = append(os.Environ(), "SSH_ASKPASS="+c.env, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0")
	cmd.Stdin = stdin
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	return out.String(), err
}

// checkHostKey checks that the key the client accepted is the proxy's
// configured fingerprint.
func (c *sshClient) checkHostKey(t *testing.T) {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", c.knownHosts).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -l %s: %v\n%s", c.knownHosts, err, out)
	}
	if want := c.e.cfg.SSHProxyHostFingerprint; want != "" && !strings.Contains(string(out), want) {
		t.Fatalf("the proxy presented %s; the configured host fingerprint is %s", out, want)
	}
}

// testSSH reaches an instance through the SSH proxy with the OpenSSH
// client: a command, an upload and a download with scp, sftp, and a local
// port forward to the app.
func testSSH(t *testing.T, e *env) {
	d := e.domain(t)
	g := guid(t, "ssh")
	keys := newSSHKeys(t)
	e.desire(t, e.sshLRP(t, g, d, keys))
	e.waitRunning(t, g, 1, 90*time.Second)
	c := e.sshClient(t, g, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// a command: the instance's own environment answers
	var out string
	testutil.Eventually(t, 60*time.Second, "ssh into the instance", func() (bool, string) {
		var err error
		out, err = c.run(ctx, nil, "ssh", "-p", c.port, c.user+"@"+c.host, "echo ssh-ok index=$CF_INSTANCE_INDEX ports=$CF_INSTANCE_PORTS")
		return err == nil && strings.Contains(out, "ssh-ok index=0"), fmt.Sprintf("%v: %s", err, out)
	})
	appPort, err := appPortInside(out)
	if err != nil {
		t.Fatal(err)
	}
	c.checkHostKey(t)

	// scp up and back down (the user names a colon: scp takes it from
	// -o User, not user@host:path)
	local := filepath.Join(c.dir, "up.txt")
	payload := "payload " + g + "\n" + strings.Repeat("x", 100_000)
	if err := os.WriteFile(local, []byte(payload), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := c.run(ctx, nil, "scp", "-O", "-P", c.port, "-o", "User="+c.user, local, c.host+":up.txt"); err != nil {
		t.Fatalf("scp upload: %v\n%s", err, out)
	}
	back := filepath.Join(c.dir, "back.txt")
	if out, err := c.run(ctx, nil, "scp", "-O", "-P", c.port, "-o", "User="+c.user, c.host+":up.txt", back); err != nil {
		t.Fatalf("scp download: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(back); string(got) != payload {
		t.Fatalf("scp round trip: got %d bytes, want %d", len(got), len(payload))
	}

	// sftp: put and get in one batch
	batch := "put " + local + " via-sftp.txt\nget via-sftp.txt " + filepath.Join(c.dir, "sftp.txt") + "\n"
	if out, err := c.run(ctx, strings.NewReader(batch), "sftp", "-P", c.port, "-o", "User="+c.user, "-b", "-", c.host); err != nil {
		t.Fatalf("sftp: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(c.dir, "sftp.txt")); string(got) != payload {
		t.Fatalf("sftp round trip: got %d bytes, want %d", len(got), len(payload))
	}

	// a local port forward to the app, as `cf ssh -L` does
	fwd := testutil.FreeAddr(t)
	_, fwdPort, _ := net.SplitHostPort(fwd)
	fctx, fcancel := context.WithCancel(ctx)
	defer fcancel()
	fdone := make(chan string, 1)
	go func() {
		out, err := c.run(fctx, nil, "ssh", "-N", "-o", "ExitOnForwardFailure=yes", "-L", fmt.Sprintf("127.0.0.1:%s:127.0.0.1:%d", fwdPort, appPort),
			"-p", c.port, c.user+"@"+c.host)
		fdone <- fmt.Sprintf("%v: %s", err, out)
	}()
	testutil.Eventually(t, 60*time.Second, "the app through the port forward", func() (bool, string) {
		select {
		case out := <-fdone:
			t.Fatalf("ssh -L exited: %s", out)
		default:
		}
		resp, err := http.Get("http://" + fwd + "/")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && strings.Contains(string(b), "hello"), fmt.Sprintf("%s %s", resp.Status, b)
	})
	fcancel()

	// a wrong index is refused with the proxy's message
	bad := e.sshClient(t, g, 7)
	if out, err := bad.run(ctx, nil, "ssh", "-p", bad.port, bad.user+"@"+bad.host, "true"); err == nil {
		t.Fatalf("ssh to a missing index succeeded: %s", out)
	}
}

// appPortInside is the port the app listens on inside its instance: the
// "internal" port of CF_INSTANCE_PORTS' first entry (8080 in a container
// with its own network, the host port on a backend without one), read
// from the output of `echo ... ports=$CF_INSTANCE_PORTS`.
func appPortInside(out string) (int, error) {
	_, js, ok := strings.Cut(out, "ports=")
	if !ok {
		return 0, fmt.Errorf("no CF_INSTANCE_PORTS in the instance's output %q", out)
	}
	js, _, _ = strings.Cut(js, "\n")
	var ports []struct {
		Internal int `json:"internal"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(js)), &ports); err != nil || len(ports) == 0 {
		return 0, fmt.Errorf("CF_INSTANCE_PORTS %q: %v", js, err)
	}
	return ports[0].Internal, nil
}
