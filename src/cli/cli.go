// Package cli is the diego operator command line: the reference operator
// tool's (cfdot's) commands against any BBS and Locket, with the same JSON
// output, tables for people, and conveniences (run, logs).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"code.cloudfoundry.org/bbs/models"
)

// Command is one subcommand of the diego binary. Run parses its own
// arguments (everything after the command name).
type Command struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// Commands returns the operator commands, in help order.
func Commands() []Command {
	var out []Command
	for _, s := range specs {
		out = append(out, Command{Name: s.name, Summary: s.summary, Run: s.runner()})
	}
	return out
}

// Run runs the diego command line with the operator commands only.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return Dispatch(ctx, Commands(), args, stdout, stderr)
}

// Dispatch runs the command of table named by args[0]. Connection and
// output flags may also come before the command name. Errors are printed to
// stderr as "error: ..." and returned; use ExitCode for the process status.
func Dispatch(ctx context.Context, table []Command, args []string, stdout, stderr io.Writer) error {
	// Global flags before the command name become defaults for the command.
	g, args, err := parseGlobals(args)
	if err != nil {
		usage(stderr, table)
		return report(stderr, &UsageError{Err: err})
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return Dispatch(ctx, table, []string{args[1], "-h"}, stdout, stderr)
		}
		if len(args) == 0 {
			usage(stderr, table)
			return report(stderr, &UsageError{Err: errors.New("no command given")})
		}
		usage(stdout, table)
		return nil
	}
	for _, c := range table {
		if c.Name == args[0] {
			err := c.Run(withGlobals(ctx, g), args[1:], stdout, stderr)
			if helpShown(err) {
				return nil
			}
			return report(stderr, err)
		}
	}
	usage(stderr, table)
	return report(stderr, &UsageError{Err: fmt.Errorf("unknown command %q", args[0])})
}

func usage(w io.Writer, table []Command) {
	fmt.Fprintln(w, "usage: diego [connection flags] COMMAND [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	width := 0
	for _, c := range table {
		width = max(width, len(c.Name))
	}
	for _, c := range table {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.Name, c.Summary)
	}
	fmt.Fprintln(w, "\nRun `diego COMMAND -h` for a command's flags. Output is JSON lines; -o table for tables.")
}

// UsageError is a bad command line; its command's usage has been printed.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// reported marks an error already written to stderr.
type reported struct{ error }

func (r reported) Unwrap() error { return r.error }

func report(stderr io.Writer, err error) error {
	if err == nil {
		return nil
	}
	var r reported
	if errors.As(err, &r) {
		return err
	}
	fmt.Fprintln(stderr, FormatError(err))
	return reported{err}
}

// FormatError renders err for people: a BBS typed error as
// "error: <type>: <message>", anything else as "error: <message>".
func FormatError(err error) string {
	var me *models.Error
	if errors.As(err, &me) {
		return fmt.Sprintf("error: %s: %s", me.Type.String(), me.Message)
	}
	return "error: " + err.Error()
}

// ExitCode maps Run's error to a process exit status: 0 on success, 2 for a
// bad command line, 1 otherwise.
func ExitCode(err error) int {
	var u *UsageError
	var remote interface{ ExitStatus() int } // `diego ssh`: the remote command's status
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u):
		return 2
	case errors.As(err, &remote):
		return remote.ExitStatus()
	}
	return 1
}

// Main runs table with the process's arguments and environment and exits.
func Main(table []Command) {
	ctx, stop := signalContext()
	err := Dispatch(ctx, table, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(ExitCode(err))
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
