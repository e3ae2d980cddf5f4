package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"code.cloudfoundry.org/bbs/models"
)

func runCLI(args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	err := Run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestCommandTable(t *testing.T) {
	want := []string{"actual-lrps", "actual-lrp-groups", "actual-lrp-groups-for-guid", "desired-lrp-scheduling-infos", "desired-lrps", "desired-lrp", "create-desired-lrp", "update-desired-lrp",
		"delete-desired-lrp", "retire-actual-lrp", "lrp-events", "tasks", "task", "create-task", "delete-task",
		"cancel-task", "task-events", "cells", "cell", "cell-states", "cell-state", "domains", "set-domain",
		"locks", "presences", "claim-lock", "release-lock", "claim-presence", "run", "routes", "logs", "ssh", "rotate-encryption-key"}
	slices.Sort(want)
	if got := names(Commands()); !slices.Equal(got, want) {
		t.Fatalf("commands %v, want %v", got, want)
	}
}

func TestDispatchExtraCommand(t *testing.T) {
	var got []string
	table := append(Commands(), Command{Name: "up", Summary: "start", Run: func(_ context.Context, args []string, stdout, stderr io.Writer) error {
		got = args
		return nil
	}})
	var out, errOut bytes.Buffer
	if err := Dispatch(context.Background(), table, []string{"up", "--x"}, &out, &errOut); err != nil || !slices.Equal(got, []string{"--x"}) {
		t.Fatalf("dispatch: %v %v", err, got)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"desired-lrp"}, "missing arguments (want PROCESS_GUID)"},
		{[]string{"desired-lrp", "a", "b"}, `unexpected arguments ["b"]`},
		{[]string{"actual-lrps", "--index", "-1"}, "--index"},
		{[]string{"actual-lrps", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"domains", "-o", "yaml"}, `unknown output format "yaml"`},
		{[]string{"set-domain", "d", "--ttl", "soon"}, "--ttl"},
		{[]string{"claim-lock", "--key", "k"}, "--key and --owner are required"},
		{[]string{"claim-presence", "--key", "k", "--owner", "o", "--ttl", "0"}, "--ttl must be"},
		{[]string{"lrp-events", "--count", "x"}, "--count"},
		{[]string{"run", "web"}, "no command"},
		{[]string{"run", "web", "--env", "NOEQUALS", "--", "x"}, "want K=V"},
		{[]string{"create-task", "{"}, "invalid JSON"},
		{[]string{"create-desired-lrp", "@/does/not/exist"}, "reading spec"},
	} {
		_, stderr, err := runCLI(tc.args...)
		var u *UsageError
		if !errors.As(err, &u) || ExitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want usage error containing %q", tc.args, err, tc.want)
		}
		if !strings.Contains(stderr, "usage: diego") || !strings.Contains(stderr, "error: ") {
			t.Errorf("%v: stderr %q", tc.args, stderr)
		}
	}
}

func TestHelp(t *testing.T) {
	out, _, err := runCLI("actual-lrps", "-h")
	if err != nil || !strings.Contains(out, "-p, --process-guid") || !strings.Contains(out, "--bbs-url") {
		t.Fatalf("help: %v\n%s", err, out)
	}
	out, _, err = runCLI("help")
	if err != nil || !strings.Contains(out, "claim-presence") {
		t.Fatalf("help: %v\n%s", err, out)
	}
}

func TestMissingConnection(t *testing.T) {
	for _, env := range []string{"DIEGO_TARGET", "BBS_URL", "LOCKET_API_LOCATION", "LOCKET_CA_CERT_FILE",
		"LOCKET_CLIENT_CERT_FILE", "LOCKET_CLIENT_KEY_FILE", "BBS_CA_CERT_FILE", "BBS_CERT_FILE", "BBS_KEY_FILE"} {
		t.Setenv(env, "")
	}
	_, stderr, err := runCLI("desired-lrps")
	if ExitCode(err) != 1 || !strings.Contains(stderr, "--bbs-url (or BBS_URL)") || !strings.Contains(stderr, "--target") {
		t.Fatalf("bbs: %v %q", err, stderr)
	}
	_, stderr, _ = runCLI("desired-lrps", "--bbs-url", "https://127.0.0.1:1")
	if !strings.Contains(stderr, "--bbs-ca-cert-file (or BBS_CA_CERT_FILE)") {
		t.Fatalf("certs: %q", stderr)
	}
	_, stderr, _ = runCLI("locks", "--locket-api-location", "127.0.0.1:1")
	if !strings.Contains(stderr, "--locket-client-key-file") || strings.Contains(stderr, "--locket-api-location") {
		t.Fatalf("locket: %q", stderr)
	}
}

func TestFormatError(t *testing.T) {
	err := fmt.Errorf("getting x: %w", models.ErrResourceNotFound)
	if got := FormatError(err); got != "error: ResourceNotFound: the requested resource could not be found" {
		t.Fatalf("got %q", got)
	}
	if got := FormatError(errors.New("boom")); got != "error: boom" {
		t.Fatalf("got %q", got)
	}
}

func TestDesiredLRPFor(t *testing.T) {
	o := runOptions{Instances: 3, MemoryMB: 64, DiskMB: 32, Port: 9000, RootFS: "preloaded:cflinuxfs4",
		Domain: "apps", User: "vcap", Env: []string{"A=1", "B=x=y"}}
	lrp, err := desiredLRPFor("web", o, []string{"echo hi && sleep 1"})
	if err != nil {
		t.Fatal(err)
	}
	run := lrp.Action.RunAction
	if run.Path != "/bin/sh" || !slices.Equal(run.Args, []string{"-c", "echo hi && sleep 1"}) || run.User != "vcap" {
		t.Fatalf("shell action: %+v", run)
	}
	env := map[string]string{}
	for _, e := range lrp.EnvironmentVariables {
		env[e.Name] = e.Value
	}
	if env["A"] != "1" || env["B"] != "x=y" || env["PORT"] != "9000" || lrp.Ports[0] != 9000 ||
		lrp.CheckDefinition.Checks[0].TcpCheck.Port != 9000 || lrp.Instances != 3 || lrp.Domain != "apps" {
		t.Fatalf("lrp: %+v", lrp)
	}
	if err := lrp.Validate(); err != nil {
		t.Fatalf("invalid: %v", err)
	}
	o.Routes = []string{"web.diego.local", "www.diego.local"}
	lrp, err = desiredLRPFor("web", o, []string{"./web"})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(*(*lrp.Routes)["cf-router"]); got != `[{"hostnames":["web.diego.local","www.diego.local"],"port":9000}]` {
		t.Fatalf("cf-router route: %s", got)
	}
	if _, err := desiredLRPFor("web", runOptions{Routes: []string{"a b"}, Port: 1}, []string{"x"}); err == nil || !strings.Contains(err.Error(), "want a hostname") {
		t.Fatalf("bad hostname: %v", err)
	}
	o.Routes = nil
	o.Port = 0
	lrp, _ = desiredLRPFor("web", o, []string{"/bin/server", "-v"})
	if lrp.Action.RunAction.Path != "/bin/server" || lrp.CheckDefinition != nil || len(lrp.Ports) != 0 {
		t.Fatalf("direct: %+v", lrp)
	}
	if _, err := desiredLRPFor("web", runOptions{Routes: []string{"a.b"}}, []string{"x"}); err == nil || !strings.Contains(err.Error(), "--route needs --port") {
		t.Fatalf("route without port: %v", err)
	}
}

func TestProgress(t *testing.T) {
	lrps := []*models.ActualLRP{
		{ActualLRPKey: models.NewActualLRPKey("w", 0, "d"), State: models.ActualLRPStateRunning},
		{ActualLRPKey: models.NewActualLRPKey("w", 1, "d"), State: models.ActualLRPStateCrashed, CrashCount: 2, CrashReason: "exit 1"},
		{ActualLRPKey: models.NewActualLRPKey("w", 2, "d"), State: models.ActualLRPStateUnclaimed, PlacementError: "insufficient resources"},
		// An evacuating RUNNING instance counts for its index.
		{ActualLRPKey: models.NewActualLRPKey("w", 3, "d"), State: models.ActualLRPStateRunning, Presence: models.ActualLRP_Evacuating},
		{ActualLRPKey: models.NewActualLRPKey("w", 3, "d"), State: models.ActualLRPStateClaimed},
	}
	p := summarize(lrps, 5)
	want := "2/5 RUNNING (1 CRASHED, 1 MISSING, 1 UNCLAIMED)\n  #1 crashed 2 time(s): exit 1\n  #2 placement error: insufficient resources"
	if p.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", p, want)
	}
	if !slices.Equal(p.Missing, []string{"#1 CRASHED", "#2 UNCLAIMED", "#4 MISSING"}) {
		t.Fatalf("missing %v", p.Missing)
	}
}

func TestLogs(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "web"), 0o755)
	for i, text := range []string{"zero\n", "one\n"} {
		os.WriteFile(filepath.Join(dir, "web", []string{"0", "1"}[i]+".log"), []byte(text), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "web", "10.log"), []byte("ten\n"), 0o644)
	out, _, err := runCLI("logs", "web", "--log-dir", dir, "--index", "1")
	if err != nil || out != "one\n" {
		t.Fatalf("index 1: %q %v", out, err)
	}
	out, _, err = runCLI("logs", "--log-dir", dir, "web")
	if err != nil || out != "==> web index 0 <==\nzero\n==> web index 1 <==\none\n==> web index 10 <==\nten\n" {
		t.Fatalf("all: %q %v", out, err)
	}
	t.Setenv("DIEGO_TARGET", "")
	t.Setenv("DIEGO_LOG_DIR", "")
	_, stderr, err := runCLI("logs", "web")
	if err == nil || !strings.Contains(stderr, "only available for clusters started by `diego up`") {
		t.Fatalf("no log dir: %q", stderr)
	}
	if _, _, err := runCLI("logs", "../etc", "--log-dir", dir); ExitCode(err) != 2 {
		t.Fatalf("path guid: %v", err)
	}
}

// names returns the table's command names, sorted.
func names(table []Command) []string {
	var out []string
	for _, c := range table {
		out = append(out, c.Name)
	}
	slices.Sort(out)
	return out
}
