package auction

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/*.txt")

// TestScenarios runs every testdata/*.txt script. A script is a list of
// blocks: a command line, its input lines, "----", and the expected output
// up to a blank line. Lines starting with # between blocks are comments.
// The one command, schedule, runs a round (see world in world_test.go).
func TestScenarios(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no testdata/*.txt")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScript(t, f) })
	}
}

type block struct {
	pre   []string // comments and blank lines before the command
	cmd   string
	input []string
	want  []string
	line  int
}

func runScript(t *testing.T, path string) {
	blocks, tail, err := readScript(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range blocks {
		b := &blocks[i]
		got, err := runBlock(b)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, b.line, err)
		}
		if !*rewrite && !slices.Equal(got, b.want) {
			t.Errorf("%s:%d: %s\n--- got\n%s\n--- want\n%s", path, b.line, b.cmd,
				strings.Join(got, "\n"), strings.Join(b.want, "\n"))
		}
		b.want = got
	}
	if *rewrite {
		if err := writeScript(path, blocks, tail); err != nil {
			t.Fatal(err)
		}
	}
}

func readScript(path string) (blocks []block, tail []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var cur *block
	state, n := 0, 0 // 0: between blocks, 1: input, 2: output
	for sc.Scan() {
		line := sc.Text()
		n++
		switch {
		case state == 0 && (line == "" || strings.HasPrefix(line, "#")):
			tail = append(tail, line)
		case state == 0:
			blocks = append(blocks, block{pre: tail, cmd: line, line: n})
			cur, tail, state = &blocks[len(blocks)-1], nil, 1
		case state == 1 && line == "----":
			state = 2
		case state == 1:
			cur.input = append(cur.input, line)
		case line == "":
			state = 0
		default:
			cur.want = append(cur.want, line)
		}
	}
	if state == 1 {
		return nil, nil, fmt.Errorf("%s: block at line %d has no ----", path, cur.line)
	}
	return blocks, tail, sc.Err()
}

func writeScript(path string, blocks []block, tail []string) error {
	var b strings.Builder
	for i, bl := range blocks {
		if i > 0 {
			b.WriteString("\n")
		}
		for _, l := range append(append(append(bl.pre, bl.cmd), bl.input...), "----") {
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

// runBlock runs "schedule [seed=N] [weight=F] [firstfit=F] [max=N] [zones]
// [left]" on the block's world and renders the result; with zones it also
// prints each process's instances per zone, with left each cell's free
// resources after the round.
func runBlock(b *block) ([]string, error) {
	fields := strings.Fields(b.cmd)
	if len(fields) == 0 || fields[0] != "schedule" {
		return nil, fmt.Errorf("unknown command %q", b.cmd)
	}
	w, err := parseWorld(b.input)
	if err != nil {
		return nil, err
	}
	cfg, show, err := parseConfig(fields[1:])
	if err != nil {
		return nil, err
	}
	res := Schedule(w.cells, w.batch, cfg)
	zoneOf := map[string]string{}
	for _, c := range w.cells {
		zoneOf[c.CellID] = c.Zone
	}
	out := renderResult(res, zoneOf)
	if show["zones"] {
		out = append(out, w.renderZones(res)...)
	}
	if show["left"] {
		applyResult(w.cells, res, false)
		out = append(out, w.renderLeft()...)
	}
	return out, nil
}
