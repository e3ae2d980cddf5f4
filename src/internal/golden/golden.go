// Package golden runs script tests in the etcd-raft datadriven style: each
// testdata/*.txt file is a list of command blocks with their expected
// output, checked in order and rewritten in place with -rewrite.
package golden

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/*.txt")

// Block is one command of a script: a command line, its input lines, "----",
// and the expected output up to a blank line. Lines starting with # (and
// blank lines) between blocks are comments.
type Block struct {
	Cmd   string
	Input []string
	Line  int // of the command, for error messages

	pre  []string // comments and blank lines before the command
	want []string
}

// Run runs every file matching glob as a subtest. newRunner is called once
// per file; the function it returns runs one block and returns its output.
func Run(t *testing.T, glob string, newRunner func() func(b *Block) ([]string, error)) {
	files, _ := filepath.Glob(glob)
	if len(files) == 0 {
		t.Fatalf("no %s", glob)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runFile(t, f, newRunner()) })
	}
}

// Commands is a script's command table: a command's name to the function
// that runs its block and returns its output.
type Commands map[string]func(b *Block) ([]string, error)

// Scripts runs every testdata/*.txt script as a subtest. newCommands is
// called once per file, so the state a script builds up lives in what the
// table's functions share; a command missing from the table fails the test.
func Scripts(t *testing.T, newCommands func() Commands) {
	t.Helper()
	Run(t, "testdata/*.txt", func() func(b *Block) ([]string, error) {
		cmds := newCommands()
		return func(b *Block) ([]string, error) {
			run, ok := cmds[b.Cmd]
			if !ok {
				return nil, fmt.Errorf("unknown command %q", b.Cmd)
			}
			return run(b)
		}
	})
}

// EachLine makes a command that runs once per input line and prints one
// line per input line: "<input> -> <what describe returned>".
func EachLine(describe func(line string) (string, error)) func(b *Block) ([]string, error) {
	return func(b *Block) ([]string, error) {
		var out []string
		for _, l := range b.Input {
			got, err := describe(l)
			if err != nil {
				return nil, err
			}
			out = append(out, l+" -> "+got)
		}
		return out, nil
	}
}

// Instance splits an instance written "guid/index" in a script.
func Instance(s string) (string, int32, error) {
	guid, idx, ok := strings.Cut(s, "/")
	n, err := strconv.ParseInt(idx, 10, 32)
	if !ok || err != nil {
		return "", 0, fmt.Errorf("bad instance %q, want GUID/INDEX", s)
	}
	return guid, int32(n), nil
}

func runFile(t *testing.T, path string, run func(b *Block) ([]string, error)) {
	blocks, tail, err := read(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range blocks {
		b := &blocks[i]
		got, err := run(b)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, b.Line, err)
		}
		if !*rewrite && !slices.Equal(got, b.want) {
			t.Errorf("%s:%d: %s\n--- got\n%s\n--- want\n%s", path, b.Line, b.Cmd,
				strings.Join(got, "\n"), strings.Join(b.want, "\n"))
		}
		b.want = got
	}
	if *rewrite {
		if err := write(path, blocks, tail); err != nil {
			t.Fatal(err)
		}
	}
}

func read(path string) (blocks []Block, tail []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var cur *Block
	state, n := 0, 0 // 0: between blocks, 1: input, 2: output
	for sc.Scan() {
		line := sc.Text()
		n++
		switch {
		case state == 0 && (line == "" || strings.HasPrefix(line, "#")):
			tail = append(tail, line)
		case state == 0:
			blocks = append(blocks, Block{pre: tail, Cmd: line, Line: n})
			cur, tail, state = &blocks[len(blocks)-1], nil, 1
		case state == 1 && line == "----":
			state = 2
		case state == 1:
			cur.Input = append(cur.Input, line)
		case line == "":
			state = 0
		default:
			cur.want = append(cur.want, line)
		}
	}
	if state == 1 {
		return nil, nil, fmt.Errorf("%s: block at line %d has no ----", path, cur.Line)
	}
	return blocks, tail, sc.Err()
}

func write(path string, blocks []Block, tail []string) error {
	var b strings.Builder
	for i, bl := range blocks {
		if i > 0 {
			b.WriteString("\n")
		}
		for _, l := range append(append(append(bl.pre, bl.Cmd), bl.Input...), "----") {
			b.WriteString(l + "\n")
		}
		for _, l := range bl.want {
			b.WriteString(l + "\n")
		}
	}
	for _, l := range tail {
		b.WriteString("\n" + l)
	}
	if len(tail) > 0 {
		b.WriteString("\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
