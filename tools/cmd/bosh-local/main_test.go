package main

import (
	"strings"
	"testing"
)

func TestParseGlobal(t *testing.T) {
	t.Setenv("BOSH_ENVIRONMENT", "local:/from-env")
	t.Setenv("BOSH_DEPLOYMENT", "")
	o, err := parseGlobal([]string{"-n", "-d", "dep", "deploy", "m.yml", "-o", "a.yml", "--deployment=dep2", "--client", "c", "-v", "x=y"})
	if err != nil {
		t.Fatal(err)
	}
	if o.cmd != "deploy" || o.deployment != "dep2" || o.env != "local:/from-env" || strings.Join(o.args, " ") != "m.yml -o a.yml -v x=y" {
		t.Errorf("got %+v", o)
	}
	if _, err := parseGlobal([]string{"deploy", "-d"}); err == nil || !strings.Contains(err.Error(), "-d needs a value") {
		t.Errorf("-d without value: %v", err)
	}
}

func TestCmdFlags(t *testing.T) {
	vals, set, pos, err := cmdFlags([]string{"m.yml", "-o", "a", "--ops-file=b", "--dry-run", "-v", "k=v=w"},
		[]string{"-o", "--ops-file", "-v"}, []string{"--dry-run"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(pos, ",") != "m.yml" || strings.Join(vals["-o"], ",") != "a" || strings.Join(vals["--ops-file"], ",") != "b" ||
		vals["-v"][0] != "k=v=w" || !set["--dry-run"] {
		t.Errorf("got %v %v %v", vals, set, pos)
	}
	if _, _, _, err := cmdFlags([]string{"--bogus"}, nil, nil); err == nil || !strings.Contains(err.Error(), "unknown flag --bogus") {
		t.Errorf("unknown flag: %v", err)
	}
}

func TestStateDir(t *testing.T) {
	dir := t.TempDir()
	for _, env := range []string{"local:" + dir, "local://" + dir, dir} {
		if got, err := stateDir(env); err != nil || got != dir {
			t.Errorf("%s: %q %v", env, got, err)
		}
	}
	for _, env := range []string{"", "local:relative", "https://10.0.0.6:25555"} {
		if _, err := stateDir(env); err == nil || !strings.Contains(err.Error(), "local:/ABSOLUTE/DIR") {
			t.Errorf("%q: %v", env, err)
		}
	}
}

func TestDeploymentName(t *testing.T) {
	for _, n := range []string{"", "a/b", "a b", ".hidden"} {
		if _, err := deploymentDir("/s", opts{deployment: n}); err == nil {
			t.Errorf("%q accepted", n)
		}
	}
}

func TestOneArg(t *testing.T) {
	vals, _, arg, err := oneArg([]string{"-o", "a", "m.yml"}, []string{"-o"}, nil, "usage: x")
	if err != nil || arg != "m.yml" || strings.Join(vals["-o"], ",") != "a" {
		t.Errorf("got %v %q %v", vals, arg, err)
	}
	for _, args := range [][]string{nil, {"a", "b"}} {
		if _, _, _, err := oneArg(args, nil, nil, "usage: x"); err == nil || err.Error() != "usage: x" {
			t.Errorf("%v: err = %v, want the usage", args, err)
		}
	}
	if _, _, _, err := oneArg([]string{"--bogus", "a"}, nil, nil, "usage: x"); err == nil || !strings.Contains(err.Error(), "unknown flag --bogus") {
		t.Errorf("unknown flag: %v", err)
	}
}
