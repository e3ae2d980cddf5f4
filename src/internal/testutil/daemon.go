package testutil

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// WriteJSON writes v as JSON to a file name in a fresh temporary directory
// and returns its path.
func WriteJSON(tb testing.TB, name string, v any) string {
	tb.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// CheckDaemonFlags runs a daemon command's in-process entry (see
// command.Daemon.Execute) with the flags every daemon shares: -version
// prints name and the version, no -config is refused, and -check-config
// accepts the config file at good and refuses the one at bad with an error
// containing badWant.
func CheckDaemonFlags(tb testing.TB, execute func(ctx context.Context, args []string, stdout, stderr io.Writer) error, name, good, bad, badWant string) {
	tb.Helper()
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := execute(ctx, []string{"-version"}, &out, &errOut); err != nil || !strings.HasPrefix(out.String(), name+" ") {
		tb.Errorf("-version: %v, %q", err, out.String())
	}
	if err := execute(ctx, nil, &out, &errOut); err == nil || !strings.Contains(err.Error(), "-config is required") {
		tb.Errorf("no -config: %v", err)
	}
	out.Reset()
	if err := execute(ctx, []string{"-config", good, "-check-config"}, &out, &errOut); err != nil || !strings.Contains(out.String(), "config OK") {
		tb.Errorf("-check-config of a valid file: %v, %q", err, out.String())
	}
	if err := execute(ctx, []string{"-config", bad, "-check-config"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), badWant) {
		tb.Errorf("-check-config of an invalid file: %v", err)
	}
}
