package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestRoutes(t *testing.T) {
	env := map[string]string{"INSTANCE_INDEX": "3", "INSTANCE_GUID": "abc-123"}
	srv := httptest.NewServer(handler(
		func(k string) string { return env[k] },
		func() []string { return []string{"INSTANCE_INDEX=3", "INSTANCE_GUID=abc-123", "EMPTY="} },
	))
	defer srv.Close()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	if code, body := get("/"); code != 200 || body != "hello from 3 abc-123\n" {
		t.Errorf("GET / = %d %q", code, body)
	}
	if code, _ := get("/health"); code != 200 {
		t.Errorf("GET /health = %d", code)
	}
	code, body := get("/env")
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil {
		t.Fatalf("GET /env = %d %q (%v)", code, body, err)
	}
	if got["INSTANCE_GUID"] != "abc-123" || got["EMPTY"] != "" || len(got) != 3 {
		t.Errorf("GET /env = %v", got)
	}
	if code, _ := get("/nope"); code != 404 {
		t.Errorf("GET /nope = %d, want 404", code)
	}
}

func TestBadDurations(t *testing.T) {
	for _, key := range []string{"CRASH_AFTER", "LISTEN_AFTER"} {
		err := run(func(k string) string {
			return map[string]string{key: "soon"}[k]
		})
		if err == nil {
			t.Errorf("run with %s=soon: want an error", key)
		}
	}
}

// TestCrashAfter runs the test binary as the app (see TestMain) and checks
// it exits 1 once CRASH_AFTER has passed.
func TestCrashAfter(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "SAMPLE_APP_RUN=1", "PORT=0", "CRASH_AFTER=200ms")
	start := time.Now()
	err := cmd.Run()
	exit, ok := err.(*exec.ExitError)
	if !ok || exit.ExitCode() != 1 {
		t.Fatalf("app with CRASH_AFTER=200ms: %v, want exit status 1", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 10*time.Second {
		t.Errorf("exited after %s, want about 200ms", d)
	}
}

func TestMain(m *testing.M) {
	if os.Getenv("SAMPLE_APP_RUN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}
