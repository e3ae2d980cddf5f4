// Command diego-certs writes a local CA and mTLS certificates for running Diego components.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/diego-go/diego/src/pki"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "diego-certs:", err)
		os.Exit(1)
	}
}

// usageError marks a bad command line (exit code 2); flag has already printed it.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// hostList is a repeatable -host flag; each value may also be comma separated.
type hostList []string

func (h *hostList) String() string { return strings.Join(*h, ",") }

func (h *hostList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*h = append(*h, s)
		}
	}
	return nil
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("diego-certs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "certs", "directory to write the CA and certificates into")
	var hosts hostList
	fs.Var(&hosts, "host", "extra DNS name or IP for the server certificate (repeatable; localhost, 127.0.0.1 and ::1 are always included)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: diego-certs [-dir DIR] [-host NAME]...")
		fmt.Fprintln(stderr, "Writes ca, server, client and admin certificates; valid existing files are kept.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
		fmt.Fprintln(stderr, err)
		fs.Usage()
		return usageError{err}
	}
	b, err := pki.GenerateLocal(*dir, hosts)
	if err != nil {
		return err
	}
	generated := map[string]bool{}
	for _, name := range b.Generated {
		generated[name] = true
	}
	for _, f := range b.Files() {
		state := "kept"
		if generated[f[0]] {
			state = "generated"
		}
		if _, err := fmt.Fprintf(stdout, "%-10s %-9s %s\n", f[0], state, f[1]); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
	}
	return nil
}
