package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/testutil"
)

// TestFileServerCommand: the shared daemon flags, then the command serving
// a bundle over plain HTTP until stopped.
func TestFileServerCommand(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.tgz"), []byte("bundle"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := testutil.FreeAddr(t)
	good := testutil.WriteJSON(t, "good.json", map[string]any{"server_address": addr, "static_directory": dir})
	bad := testutil.WriteJSON(t, "bad.json", map[string]any{"server_address": addr})
	testutil.CheckDaemonFlags(t, fileServerCommand.Execute, "file-server", good, bad, "static_directory is required")

	run := testutil.StartDaemon(t, "file-server", fileServerCommand.Execute, "-config", good)
	run.WaitFor(20*time.Second, "the bundle served", func() bool {
		resp, err := http.Get("http://" + addr + "/v1/static/a.tgz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && string(body) == "bundle"
	})
	run.Stop(20 * time.Second)
}
