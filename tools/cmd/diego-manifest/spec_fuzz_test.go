package main

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzGenerate: any spec through ParseSpec and Generate on the fixture
// release: errors say "spec: ..." or name what is missing, an accepted spec
// survives a YAML round trip, and a generated plan's manifest is named after
// the deployment and its bosh command, read back as shell words, passes each
// ops-file, vars file and variable exactly as planned.
func FuzzGenerate(f *testing.F) {
	f.Add([]byte("packs: [core]\n"))
	f.Add([]byte("deployment: d\nvars: {a: \"it's\", b: \"x y\\nz\", c: \"$(rm -rf /)\"}\ncells: {instances: 3}\n"))
	f.Add([]byte("ops_files: [ops-files/wrong-type.yml]\n"))
	f.Add([]byte("keys: {type: vault, labels: [a, b], active: b}\n"))
	f.Add([]byte("database: {type: external, driver: mysql, host: db, password: ((pw))}\n"))
	f.Add([]byte("keys: {labels: [a, a]}\n"))
	f.Add([]byte("deployment: Diego\n"))
	f.Add([]byte("nope: 1\n"))
	f.Add([]byte("vars: {\"0\": \"0'\"}\n")) // CI: the '\'' idiom read as an unquoted backslash
	g, err := NewGenerator(fixture)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "spec: ") {
				t.Fatalf("error %q does not say it is about the spec", err)
			}
			return
		}
		out := quotedYAML(t, s)
		again, err := ParseSpec(out)
		if err != nil {
			t.Fatalf("an accepted spec, marshalled, is refused: %v\n%s", err, out)
		}
		if out2 := quotedYAML(t, again); string(out2) != string(out) {
			t.Fatalf("YAML round trip changed the spec:\n%s\n%s", out, out2)
		}
		plan, manifest, _, err := g.Generate(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		var m struct {
			Name string `yaml:"name"`
		}
		if err := yaml.Unmarshal(manifest, &m); err != nil || m.Name != s.Deployment {
			t.Fatalf("manifest name %q, %v; want %q", m.Name, err, s.Deployment)
		}
		want := []string{"bosh", "-d", s.Deployment, "deploy", plan.Manifest}
		for _, o := range plan.OpsFiles {
			want = append(want, "-o", o)
		}
		if plan.GeneratedPath != "" && len(plan.Generated) > 0 {
			want = append(want, "-o", plan.GeneratedPath)
		}
		for _, l := range plan.VarsFiles {
			want = append(want, "-l", l)
		}
		var keys []string
		for k := range plan.Vars {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			want = append(want, "-v", k+"="+plan.Vars[k])
		}
		cmd := plan.Command()
		if got := shellWords(t, cmd); !reflect.DeepEqual(got, want) {
			t.Fatalf("the command reads as %q; want %q\n%s", got, want, cmd)
		}
	})
}

// shellWords splits a POSIX sh command line of unquoted words, single-quoted
// strings, backslash escapes and backslash-newline continuations; anything else a shell would
// interpret ($, `, ", \, ;, |, &, <, >, (, ), *, ?, [, #, ~ unquoted) fails.
func shellWords(t *testing.T, s string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && s[i+1] == '\n':
			i++
		case c == '\\' && i+1 < len(s):
			// A backslash outside quotes keeps the next byte literally:
			// shellQuote writes a quote inside a quoted word as '\''.
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				t.Fatalf("unterminated quote in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case strings.IndexByte("$`\"\\;|&<>()*?[#~", c) >= 0:
			t.Fatalf("unquoted %q in %q", c, s)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// quotedYAML is s as YAML with every string double-quoted: yaml.v3 writes a
// whitespace-only string such as "\n" as a block scalar ("|4+") that it
// reads back as "" (seed newline-var-value), a quirk of the library's
// emitter rather than of the spec, which is never written back as YAML.
func quotedYAML(t *testing.T, s *Spec) []byte {
	var n yaml.Node
	if err := n.Encode(s); err != nil {
		t.Fatal(err)
	}
	var quote func(*yaml.Node)
	quote = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
			n.Style = yaml.DoubleQuotedStyle
		}
		for _, c := range n.Content {
			quote(c)
		}
	}
	quote(&n)
	out, err := yaml.Marshal(&n)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
