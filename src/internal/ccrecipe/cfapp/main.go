// Command cfapp plays, in the acceptance suite's "cloud-foundry" group, every
// program a Cloud Foundry buildpack app runs in a Diego container. It is one
// static binary (CGO_ENABLED=0, standard library only, so it runs in a
// busybox rootfs) that acts by the name it is called as:
//
//	launcher APP_DIR START_COMMAND METADATA
//	    the buildpack lifecycle's launcher (/tmp/lifecycle/launcher): changes
//	    to APP_DIR (relative to the working directory, the user's home), then
//	    runs START_COMMAND with /bin/sh -c; an empty command is read from the
//	    droplet's staging_info.yml ("start_command: ...").
//	healthcheck -port=P [-uri=U] [-timeout=D]
//	    the lifecycle's port/HTTP health check, once: exit 0 when it passes.
//	cfapp [serve]          the app: HTTP on $PORT (see handler)
//	cfapp sidecar NAME [EXIT_AFTER]
//	    a sidecar: writes sidecar-NAME.pid in the working directory and
//	    sleeps; with EXIT_AFTER (a Go duration) it exits 1 that long after
//	    starting.
//	cfapp task RESULT_FILE
//	    a task: writes what it sees (report.Report) as JSON to RESULT_FILE and
//	    stdout.
//
// The app reports, from inside the instance, what the suite checks: its
// environment, files relative to its working directory, and its instance
// identity certificate.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/diego-go/diego/src/internal/ccrecipe/report"
)

func main() {
	log.SetFlags(0)
	var err error
	switch name := filepath.Base(os.Args[0]); {
	case name == "launcher":
		err = launch(os.Args[1:])
	case name == "healthcheck":
		err = healthcheck(os.Args[1:])
	case len(os.Args) > 1 && os.Args[1] == "sidecar":
		err = sidecar(os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "task":
		err = task(os.Args[2:])
	default:
		port := os.Getenv("PORT")
		if port == "" {
			port = "8080"
		}
		log.Printf("cfapp: listening on :%s", port)
		err = http.ListenAndServe(":"+port, handler())
	}
	if err != nil {
		log.Printf("%s: %v", filepath.Base(os.Args[0]), err)
		os.Exit(1)
	}
}

// launch is the launcher: cd APP_DIR, then exec /bin/sh -c START_COMMAND.
func launch(args []string) error {
	if len(args) < 2 {
		return errors.New("usage: launcher APP_DIR START_COMMAND [METADATA]")
	}
	if err := os.Chdir(args[0]); err != nil {
		wd, _ := os.Getwd()
		return fmt.Errorf("changing to the app directory (from %s): %w", wd, err)
	}
	command := args[1]
	if command == "" {
		c, err := stagedStartCommand("../staging_info.yml")
		if err != nil {
			return err
		}
		command = c
	}
	return syscall.Exec("/bin/sh", []string{"sh", "-c", command}, os.Environ())
}

// stagedStartCommand reads "start_command: ..." from a staging_info.yml.
func stagedStartCommand(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("no start command given and no staging info: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "start_command:"); ok {
			return strings.Trim(strings.TrimSpace(v), `"`), nil
		}
	}
	return "", fmt.Errorf("%s has no start_command", path)
}

// healthcheck GETs http://127.0.0.1:PORT/URI (or dials the port without
// -uri) once.
func healthcheck(args []string) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	port := fs.Int("port", 8080, "port")
	uri := fs.String("uri", "", "HTTP path; empty: a TCP check")
	timeout := fs.Duration("timeout", time.Second, "timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	addr := net.JoinHostPort("127.0.0.1", fmt.Sprint(*port))
	if *uri == "" {
		c, err := net.DialTimeout("tcp", addr, *timeout)
		if err != nil {
			return err
		}
		return c.Close()
	}
	resp, err := (&http.Client{Timeout: *timeout}).Get("http://" + addr + *uri)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", *uri, resp.Status)
	}
	return nil
}

func sidecar(args []string) error {
	if len(args) < 1 {
		return errors.New("usage: cfapp sidecar NAME [EXIT_AFTER]")
	}
	if err := os.WriteFile("sidecar-"+args[0]+".pid", []byte(fmt.Sprint(os.Getpid())), 0o644); err != nil {
		return err
	}
	if len(args) > 1 {
		d, err := time.ParseDuration(args[1])
		if err != nil {
			return err
		}
		time.Sleep(d)
		return fmt.Errorf("sidecar %s exiting 1 after %s, as asked", args[0], d)
	}
	for {
		time.Sleep(time.Hour)
	}
}

func task(args []string) error {
	if len(args) < 1 {
		return errors.New("usage: cfapp task RESULT_FILE")
	}
	b, err := json.Marshal(inside())
	if err != nil {
		return err
	}
	fmt.Printf("%s\n", b)
	return os.WriteFile(args[0], b, 0o644)
}

// droplet are the files the suite packs into the droplet, as seen from
// the app directory, plus the sidecar's pid file.
var droplet = []string{"cfapp", "droplet.txt", "../staging_info.yml", "sidecar-logger.pid"}

// inside is what the process sees: environment, droplet files, identity.
func inside() report.Report {
	r := report.Report{Env: map[string]string{}, Files: map[string]report.File{}, UID: os.Getuid()}
	r.Cwd, _ = os.Getwd()
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		r.Env[k] = v
	}
	for _, p := range droplet {
		r.Files[p] = file(p)
	}
	if c, err := instanceCert(os.Getenv("CF_INSTANCE_CERT"), os.Getenv("CF_INSTANCE_KEY")); err != nil {
		r.CertErr = err.Error()
	} else {
		r.Cert = c
	}
	if dir := os.Getenv("CF_SYSTEM_CERT_PATH"); dir != "" {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			r.SystemCerts = append(r.SystemCerts, e.Name())
		}
	}
	return r
}

func file(p string) report.File {
	st, err := os.Stat(p)
	if err != nil {
		return report.File{}
	}
	f := report.File{Exists: true, Size: st.Size(), Mode: st.Mode().String()}
	if st.Mode().IsRegular() && st.Size() <= 200 {
		b, _ := os.ReadFile(p)
		f.Text = string(b)
	}
	return f
}

func instanceCert(certFile, keyFile string) (*report.Cert, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("CF_INSTANCE_CERT or CF_INSTANCE_KEY is not set")
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	block, rest := pem.Decode(certPEM)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM block", certFile)
	}
	crt, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, err
	}
	c := &report.Cert{CommonName: crt.Subject.CommonName, OUs: slices.Clone(crt.Subject.OrganizationalUnit),
		DNSNames: crt.DNSNames, NotBefore: crt.NotBefore, NotAfter: crt.NotAfter, Chain: 1}
	for ; len(rest) > 0; c.Chain++ {
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
	}
	for _, ip := range crt.IPAddresses {
		c.IPs = append(c.IPs, ip.String())
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	_, err = tls.X509KeyPair(certPEM, keyPEM)
	c.KeyMatches = err == nil
	return c, nil
}

// handler serves the app:
//
//	GET /        "hello from <INSTANCE_INDEX> <INSTANCE_GUID>\n" (the HTTP check's path)
//	GET /report  what it sees from inside (report.Report) as JSON
func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "hello from %s %s\n", os.Getenv("INSTANCE_INDEX"), os.Getenv("INSTANCE_GUID"))
	})
	mux.HandleFunc("GET /report", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(inside())
	})
	return mux
}
