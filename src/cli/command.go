package cli

import (
	"context"
	"fmt"

	"code.cloudfoundry.org/bbs"

	"github.com/diego-go/diego/src/cli/render"
	"github.com/diego-go/diego/src/locket"
)

// cmd is one row of the command table (commands.go): a command that builds
// a request from its flags and arguments, makes a call with a client and
// prints the result. Its spec method writes the steps once: register the
// flags, parse, build the request, connect, call, print.
type cmd[Req, Res any] struct {
	name, args, summary string
	// min and max bound the positional arguments (max < 0: no limit).
	min, max int
	// request registers the command's flags on c and returns what builds
	// the request from the positional arguments once they are parsed; its
	// errors are usage errors. Nil: the request is the zero Req.
	request func(c *call) func(pos []string) (Req, error)
	// uses is the client the runner connects before the call (none: the
	// call connects itself, if at all).
	uses client
	// do is the call.
	do func(ctx context.Context, k *conn, req Req) (Res, error)
	// fail names what failed, for do's errors ("listing tasks"). Nil: do's
	// errors are reported as they are.
	fail func(Req) string
	// print writes the result. Nil: the command prints nothing.
	print func(c *call, res Res) error
}

// client is a connection a command needs.
type client int

const (
	none client = iota
	bbsAPI
	locketAPI
)

// conn is what a call works with: the invocation (its output, settings and
// flags) and the client its row asked for.
type conn struct {
	*call
	bbs    bbs.Client
	locket locket.Client
}

func (d cmd[Req, Res]) spec() *spec {
	return &spec{name: d.name, args: d.args, summary: d.summary, run: d.run}
}

func (d cmd[Req, Res]) run(ctx context.Context, c *call) error {
	var build func([]string) (Req, error)
	if d.request != nil {
		build = d.request(c)
	}
	pos, err := c.parse(d.min, d.max)
	if err != nil {
		return err
	}
	var req Req
	if build != nil {
		if req, err = build(pos); err != nil {
			return c.usageError(err)
		}
	}
	k := &conn{call: c}
	switch d.uses {
	case bbsAPI:
		if k.bbs, err = c.bbsClient(); err != nil {
			return err
		}
	case locketAPI:
		var done func()
		if k.locket, done, err = c.locketClient(); err != nil {
			return err
		}
		defer done()
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, requestTimeout)
		defer cancel()
	}
	res, err := d.do(ctx, k, req)
	if err != nil {
		if d.fail != nil {
			return fmt.Errorf("%s: %w", d.fail(req), err)
		}
		return err
	}
	if d.print == nil {
		return nil
	}
	return d.print(c, res)
}

// nothing is the request of a command that takes none and the result of
// one that returns none.
type nothing struct{}

// subject is the request of a command whose one argument names what it acts
// on (a process guid, a task guid, a cell id, a domain).
func subject(*call) func(pos []string) (string, error) {
	return func(pos []string) (string, error) { return pos[0], nil }
}

// says is a fail message that does not depend on the request.
func says[Req any](what string) func(Req) string {
	return func(Req) string { return what }
}

// about is a fail message naming the command's subject, e.g.
// about("getting task %s").
func about(format string) func(string) string {
	return func(s string) string { return fmt.Sprintf(format, s) }
}

// list prints a list as JSON lines or a table.
func list[T any](header []string, row func(T) []string) func(*call, []T) error {
	return func(c *call, values []T) error { return render.Print(c.stdout, c.format, values, header, row) }
}

// one prints a single value as a list of one.
func one[T any](header []string, row func(T) []string) func(*call, T) error {
	return func(c *call, v T) error { return render.Print(c.stdout, c.format, []T{v}, header, row) }
}

// fixed is the request of a command that always asks the same, with no
// flags of its own.
func fixed[Req any](r Req) func(*call) func([]string) (Req, error) {
	return func(*call) func([]string) (Req, error) {
		return func([]string) (Req, error) { return r, nil }
	}
}
