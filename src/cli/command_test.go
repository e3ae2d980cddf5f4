package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// TestCmdSteps: a row's steps run in order (flags, parse, request, call,
// print); a bad request is a usage error before any call; fail names a
// failed call; print sees the call's result.
func TestCmdSteps(t *testing.T) {
	var steps []string
	row := cmd[string, int]{name: "probe", args: "WORD", summary: "probe", min: 1, max: 1,
		request: func(c *call) func([]string) (string, error) {
			var upper bool
			c.fs.BoolVar(&upper, "upper", false, "shout")
			steps = append(steps, "flags")
			return func(pos []string) (string, error) {
				steps = append(steps, "request")
				if pos[0] == "bad" {
					return "", errors.New("bad word")
				}
				if upper {
					return strings.ToUpper(pos[0]), nil
				}
				return pos[0], nil
			}
		},
		do: func(_ context.Context, _ *conn, w string) (int, error) {
			steps = append(steps, "call "+w)
			if w == "fail" {
				return 0, errors.New("boom")
			}
			return len(w), nil
		},
		fail: about("probing %s"),
		print: func(c *call, n int) error {
			steps = append(steps, "print")
			_, err := c.stdout.Write([]byte(strings.Repeat("*", n)))
			return err
		},
	}
	table := []Command{{Name: row.name, Run: row.spec().runner()}}
	run := func(args ...string) (string, error) {
		steps = nil
		var out, errOut bytes.Buffer
		err := Dispatch(context.Background(), table, args, &out, &errOut)
		return out.String(), err
	}
	out, err := run("probe", "abc", "--upper")
	if err != nil || out != "***" || strings.Join(steps, ",") != "flags,request,call ABC,print" {
		t.Fatalf("ok: %q %v %v", out, err, steps)
	}
	_, err = run("probe", "bad")
	var u *UsageError
	if !errors.As(err, &u) || strings.Join(steps, ",") != "flags,request" {
		t.Fatalf("bad request: %v %v", err, steps)
	}
	out, err = run("probe", "fail")
	if err == nil || err.Error() != "probing fail: boom" || out != "" || strings.Join(steps, ",") != "flags,request,call fail" {
		t.Fatalf("failed call: %q %v %v", out, err, steps)
	}
	if _, err = run("probe"); !errors.As(err, &u) || strings.Join(steps, ",") != "flags" {
		t.Fatalf("missing argument: %v %v", err, steps)
	}
}
