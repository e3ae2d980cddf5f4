package archtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/diego-go/diego/"

// maxLines is the longest a Go file may be.
const maxLines = 600

func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("git rev-parse: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// topLevel maps an import path to its top-level package under src/ ("bbs",
// "locket", ...), or "" for anything outside this module's src/.
func topLevel(path string) string {
	rest, ok := strings.CutPrefix(path, module+"src/")
	if !ok {
		return ""
	}
	top, _, _ := strings.Cut(rest, "/")
	return top
}

type pkg struct {
	ImportPath                         string
	Imports, TestImports, XTestImports []string
}

// componentGraph is which top-level package imports which, with one package
// pair as the witness of each edge; test imports count.
func componentGraph(t *testing.T, root string) map[string]map[string]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,TestImports,XTestImports", "./src/...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	graph := map[string]map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decoding go list: %v", err)
		}
		from := topLevel(p.ImportPath)
		for _, imp := range slices.Concat(p.Imports, p.TestImports, p.XTestImports) {
			to := topLevel(imp)
			if to == "" || to == from {
				continue
			}
			if graph[from] == nil {
				graph[from] = map[string]string{}
			}
			graph[from][to] = strings.TrimPrefix(p.ImportPath, module) + " -> " + strings.TrimPrefix(imp, module)
		}
	}
	return graph
}

// cycles returns each strongly connected component of more than one node.
func cycles(graph map[string]map[string]string) [][]string {
	index, low := map[string]int{}, map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var out [][]string
	next := 0
	var visit func(v string)
	visit = func(v string) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range slices.Sorted(mapKeys(graph[v])) {
			if _, seen := index[w]; !seen {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var scc []string
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				scc = append(scc, w)
				if w == v {
					break
				}
			}
			if len(scc) > 1 {
				slices.Sort(scc)
				out = append(out, scc)
			}
		}
	}
	for _, v := range slices.Sorted(mapKeys(graph)) {
		if _, seen := index[v]; !seen {
			visit(v)
		}
	}
	return out
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestNoCycleBetweenComponents(t *testing.T) {
	graph := componentGraph(t, repoRoot(t))
	for _, scc := range cycles(graph) {
		var edges []string
		for _, a := range scc {
			for _, b := range scc {
				if w, ok := graph[a][b]; ok {
					edges = append(edges, fmt.Sprintf("  %s -> %s (%s)", a, b, w))
				}
			}
		}
		t.Errorf("import cycle between top-level packages %v:\n%s\nmove the shared types to a package neither imports (see docs/architecture.md)", scc, strings.Join(edges, "\n"))
	}
}

func TestCycleDetection(t *testing.T) {
	g := map[string]map[string]string{
		"a": {"b": ""}, "b": {"c": ""}, "c": {"a": ""}, "d": {"a": ""}, "e": {"e": ""},
	}
	got := cycles(g)
	if len(got) != 1 || !slices.Equal(got[0], []string{"a", "b", "c"}) {
		t.Fatalf("cycles = %v, want [[a b c]]", got)
	}
	if got := cycles(map[string]map[string]string{"a": {"b": ""}, "b": {}}); len(got) != 0 {
		t.Fatalf("acyclic graph reported %v", got)
	}
}

// trackedFiles lists the files git tracks, relative to root.
func trackedFiles(t *testing.T, root string) []string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	var files []string
	for _, f := range bytes.Split(out, []byte{0}) {
		if len(f) > 0 {
			files = append(files, string(f))
		}
	}
	return files
}

func TestGoFilesShort(t *testing.T) {
	root := repoRoot(t)
	for _, f := range trackedFiles(t, root) {
		if !strings.HasSuffix(f, ".go") {
			continue
		}
		n, err := countLines(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if n > maxLines {
			t.Errorf("%s has %d lines; split it by responsibility (at most %d)", f, n, maxLines)
		}
	}
}

func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		n++
	}
	return n, s.Err()
}

// executableMagic are the first bytes of the binaries a Go build writes.
var executableMagic = [][]byte{
	{0x7f, 'E', 'L', 'F'},    // Linux
	{0xcf, 0xfa, 0xed, 0xfe}, // macOS 64-bit
	{'M', 'Z'},               // Windows
}

func TestNoBuildOutputCommitted(t *testing.T) {
	root := repoRoot(t)
	for _, f := range trackedFiles(t, root) {
		head := make([]byte, 4)
		file, err := os.Open(filepath.Join(root, f))
		if err != nil {
			continue // deleted in the work tree
		}
		n, _ := io.ReadFull(file, head)
		file.Close()
		for _, m := range executableMagic {
			if n >= len(m) && bytes.Equal(head[:len(m)], m) {
				t.Errorf("%s is an executable build output: remove it from git (make build writes to bin/, which is ignored)", f)
			}
		}
		if strings.HasSuffix(f, ".test") {
			t.Errorf("%s is a test binary: remove it from git", f)
		}
	}
}
