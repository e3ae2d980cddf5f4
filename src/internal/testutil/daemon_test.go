package testutil

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

func TestWriteJSON(t *testing.T) {
	path := WriteJSON(t, "x.json", map[string]int{"a": 1})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]int
	if err := json.Unmarshal(data, &got); err != nil || got["a"] != 1 {
		t.Errorf("%s holds %s (%v)", path, data, err)
	}
}

// TestCheckDaemonFlags runs the check against a fake command that behaves.
func TestCheckDaemonFlags(t *testing.T) {
	execute := func(_ context.Context, args []string, stdout, _ io.Writer) error {
		switch {
		case len(args) == 1 && args[0] == "-version":
			fmt.Fprintln(stdout, "x 1.0")
		case len(args) == 0:
			return errors.New("-config is required")
		case args[1] == "good":
			fmt.Fprintln(stdout, "config OK: good")
		default:
			return errors.New("field is wrong")
		}
		return nil
	}
	CheckDaemonFlags(t, execute, "x", "good", "bad", "field")
}

func TestDaemonRun(t *testing.T) {
	var ready atomic.Bool
	run := StartDaemon(t, "x", func(ctx context.Context, args []string, _, stderr io.Writer) error {
		fmt.Fprintf(stderr, `{"msg":"started","args":%q}`+"\n", args)
		ready.Store(true)
		<-ctx.Done()
		fmt.Fprintln(stderr, `{"msg":"stopped"}`)
		return nil
	}, "-config", "c.json")
	run.WaitFor(10*time.Second, "ready", ready.Load)
	run.Stop(10 * time.Second)
	run.LogsContain(`"msg":"started"`, `-config`, `"msg":"stopped"`)
}
