package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/diego-go/diego/src/cli/connect"
	"github.com/diego-go/diego/src/cli/render"
)

// globals are the flags every command accepts: where to connect and how to
// print. They may also be given before the command name.
type globals struct {
	settings connect.Settings
	output   string
}

// names of the global flags, to keep them out of a command's own flag list.
var globalFlags = map[string]bool{"target": true, "output": true, "o": true}

func init() {
	for _, st := range connect.All {
		globalFlags[st.Flag] = true
	}
}

// bind registers the global flags on fs, defaulting to g's current values.
func (g *globals) bind(fs *flag.FlagSet) {
	fs.StringVar(&g.settings.Target, "target", g.settings.Target, "target file written by `diego up` (env DIEGO_TARGET)")
	for _, st := range connect.All {
		p := st.Field(&g.settings)
		fs.StringVar(p, st.Flag, *p, st.Usage+" (env "+st.Env+")")
	}
	if g.output == "" {
		g.output = os.Getenv("DIEGO_OUTPUT")
	}
	if g.output == "" {
		g.output = string(render.JSON)
	}
	fs.StringVar(&g.output, "output", g.output, "output format: json (one object per line) or table (env DIEGO_OUTPUT)")
	fs.StringVar(&g.output, "o", g.output, "short for --output")
}

// parseGlobals parses the global flags before the command name; the rest
// of args is returned.
func parseGlobals(args []string) (*globals, []string, error) {
	g := &globals{}
	fs := flag.NewFlagSet("diego", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	g.bind(fs)
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	return g, fs.Args(), nil
}

// helpShown reports whether a command ended because -h printed its usage.
func helpShown(err error) bool { return errors.Is(err, flag.ErrHelp) }

type globalsKey struct{}

func withGlobals(ctx context.Context, g *globals) context.Context {
	return context.WithValue(ctx, globalsKey{}, *g)
}

// spec is an operator command as the dispatcher sees it: run defines its
// flags on c.fs, then calls c.parse. The table's rows (cmd) make theirs;
// rotate-encryption-key is a spec of its own.
type spec struct {
	name, args, summary string
	run                 func(ctx context.Context, c *call) error
}

func (s *spec) runner() func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		c := &call{spec: s, args: args, stdout: stdout, stderr: stderr,
			fs: flag.NewFlagSet(s.name, flag.ContinueOnError)}
		c.g, _ = ctx.Value(globalsKey{}).(globals)
		c.fs.SetOutput(io.Discard)
		c.g.bind(c.fs)
		return s.run(ctx, c)
	}
}

// call is one invocation of a command.
type call struct {
	spec           *spec
	args           []string
	fs             *flag.FlagSet
	g              globals
	stdout, stderr io.Writer
	format         render.Format
	// dash holds the arguments after "--".
	dash     []string
	resolved bool
}

// str registers a string flag with an optional one-letter alias.
func (c *call) str(p *string, long, short, value, usage string) {
	c.fs.StringVar(p, long, value, usage)
	if short != "" {
		c.fs.StringVar(p, short, value, "short for --"+long)
	}
}

// parse parses the command line, allowing flags after positional arguments
// (as the reference tool does) and keeping everything after "--" in c.dash.
// It checks the number of positional arguments (max < 0: no limit).
func (c *call) parse(min, max int) ([]string, error) {
	args := c.args
	for i, a := range args {
		if a == "--" {
			c.dash = args[i+1:]
			args = args[:i]
			break
		}
	}
	var pos []string
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.usage(c.stdout)
				return nil, err
			}
			return nil, c.usageError(err)
		}
		args = c.fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	f, err := render.ParseFormat(c.g.output)
	if err != nil {
		return nil, c.usageError(err)
	}
	c.format = f
	switch {
	case len(pos) < min:
		return nil, c.usageError(fmt.Errorf("%s: missing arguments (want %s)", c.spec.name, c.spec.args))
	case max >= 0 && len(pos) > max:
		return nil, c.usageError(fmt.Errorf("%s: unexpected arguments %q", c.spec.name, pos[max:]))
	}
	return pos, nil
}

// usageError prints the command's usage and wraps err.
func (c *call) usageError(err error) error {
	c.usage(c.stderr)
	return &UsageError{Err: err}
}

func (c *call) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: diego %s [flags] %s\n\n%s\n", c.spec.name, c.spec.args, c.spec.summary)
	shorts := map[string]string{}
	c.fs.VisitAll(func(f *flag.Flag) {
		if long, ok := strings.CutPrefix(f.Usage, "short for --"); ok {
			shorts[long] = f.Name
		}
	})
	var own []string
	c.fs.VisitAll(func(f *flag.Flag) {
		if globalFlags[f.Name] || strings.HasPrefix(f.Usage, "short for --") {
			return
		}
		line := "  --" + f.Name
		if short, ok := shorts[f.Name]; ok {
			line = "  -" + short + ", --" + f.Name
		}
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "[]" {
			line += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		own = append(own, line+"\n    \t"+f.Usage)
	})
	if len(own) > 0 {
		fmt.Fprintf(w, "\nflags:\n%s\n", strings.Join(own, "\n"))
	}
	fmt.Fprintln(w, "\nconnection and output flags (any command): --target FILE, -o json|table,")
	fmt.Fprintln(w, "  --bbs-url, --bbs-ca-cert-file, --bbs-cert-file, --bbs-key-file,")
	fmt.Fprintln(w, "  --locket-api-location, --locket-ca-cert-file, --locket-client-cert-file, --locket-client-key-file")
}

// settings resolves the connection settings (flags, then env, then target).
func (c *call) settings() (*connect.Settings, error) {
	if !c.resolved {
		if err := c.g.settings.Resolve(os.Getenv); err != nil {
			return nil, err
		}
		c.resolved = true
	}
	return &c.g.settings, nil
}
