package sshtest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// Stress is a run of many short commands whose output must arrive whole:
// each run prints a marker (every third run also some KB, every fifth
// also to stderr) and exits at once, racing its output against its exit
// status and the channel's close on every hop.
type Stress struct {
	// Runs is the number of sessions in all; Workers the connections
	// running them at once.
	Runs, Workers int
	// Procs are the GOMAXPROCS values to run under in turn (default: 2,
	// 4 and 8: the proxy's lost exec reply showed most with more Ps than
	// cores and many sessions at once, never with 1).
	Procs []int
}

// RunsEnv, when set to a number, replaces every Stress's Runs: for long
// runs by hand (DIEGO_SSH_STRESS_RUNS=5000 go test -run Stress ...).
const RunsEnv = "DIEGO_SSH_STRESS_RUNS"

// Failure is one run whose outcome was not the command's.
type Failure struct {
	Run     int
	Command string
	Problem string
}

func (f Failure) String() string { return fmt.Sprintf("run %d (%s): %s", f.Run, f.Command, f.Problem) }

// stressCommand is run i's command and the stdout and stderr it must give.
func stressCommand(i int) (cmd, stdout, stderr string) {
	marker := "marker-" + strconv.Itoa(i)
	cmd, stdout = "echo "+marker, marker+"\n"
	if i%3 == 0 {
		// 3000 numbered lines, about 14 KB, written by seq in several
		// pipe writes and so several channel data packets.
		cmd += "; seq 1 3000"
		var b strings.Builder
		for n := 1; n <= 3000; n++ {
			b.WriteString(strconv.Itoa(n))
			b.WriteByte('\n')
		}
		stdout += b.String()
	}
	if i%5 == 0 {
		cmd += "; echo err-" + marker + " >&2"
		stderr = "err-" + marker + "\n"
	}
	if i%7 == 0 {
		cmd += "; exit 7"
	}
	return cmd, stdout, stderr
}

// Run runs the stress over connections from dial and returns the runs
// that failed: an error other than the command's exit status, a wrong
// exit status, or output not exactly the command's.
func (s Stress) Run(tb testing.TB, dial func() (*ssh.Client, error)) []Failure {
	tb.Helper()
	procs := s.Procs
	if len(procs) == 0 {
		procs = []int{2, 4, 8}
	}
	var mu sync.Mutex
	var failures []Failure
	runs := s.Runs
	if n, err := strconv.Atoi(os.Getenv(RunsEnv)); err == nil && n > 0 {
		runs = n
	}
	per := runs / len(procs)
	for p, n := range procs {
		old := runtime.GOMAXPROCS(n)
		jobs := make(chan int)
		var wg sync.WaitGroup
		for w := 0; w < s.Workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client, err := dial()
				if err != nil {
					for i := range jobs {
						mu.Lock()
						failures = append(failures, Failure{Run: i, Problem: "dialing: " + err.Error()})
						mu.Unlock()
					}
					return
				}
				defer client.Close()
				for i := range jobs {
					if f := runOne(client, i); f != nil {
						mu.Lock()
						failures = append(failures, *f)
						mu.Unlock()
					}
				}
			}()
		}
		for i := p * per; i < (p+1)*per; i++ {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		runtime.GOMAXPROCS(old)
	}
	return failures
}

func runOne(client *ssh.Client, i int) *Failure {
	cmd, wantOut, wantErr := stressCommand(i)
	fail := func(format string, args ...any) *Failure {
		return &Failure{Run: i, Command: cmd, Problem: fmt.Sprintf(format, args...)}
	}
	sess, err := client.NewSession()
	if err != nil {
		return fail("opening a session: %v", err)
	}
	defer sess.Close()
	var out, errOut strings.Builder
	sess.Stdout, sess.Stderr = &out, &errOut
	wantCode := 0
	if i%7 == 0 {
		wantCode = 7
	}
	if err := sess.Start(cmd); err != nil {
		if errors.Is(err, io.EOF) {
			return fail("exec got no reply: the channel closed first (io.EOF), no output read")
		}
		return fail("starting: %v", err)
	}
	err = sess.Wait()
	var exit *ssh.ExitError
	code := 0
	switch {
	case errors.As(err, &exit):
		code = exit.ExitStatus()
	case err != nil:
		return fail("waiting: %v (stdout %d of %d bytes)", err, out.Len(), len(wantOut))
	}
	if code != wantCode {
		return fail("exit status %d, want %d", code, wantCode)
	}
	if out.String() != wantOut || errOut.String() != wantErr {
		return fail("stdout %d of %d bytes (%q...), stderr %q (want %q)", out.Len(), len(wantOut), head(out.String()), errOut.String(), wantErr)
	}
	return nil
}

func head(s string) string {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}
