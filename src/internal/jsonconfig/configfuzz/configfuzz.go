// Package configfuzz is the fuzz target every component's config file shares:
// Load never panics, its errors name the file, it accepts exactly what Parse
// and Validate accept, and an accepted config survives a JSON round trip.
package configfuzz

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/pki"
)

// Format is one component's config file.
type Format[C any] struct {
	Parse    func(io.Reader) (C, error) // reads JSON over the defaults
	Load     func(path string) (C, error)
	Validate func(C) error
	// Valid returns configs Validate accepts, using the certificates in b
	// and the existing directory dir; marshalled, they seed the corpus
	// (and must be accepted, or the target fails at once).
	Valid func(b *pki.Bundle, dir string) []C
	// Seeds are more corpus entries (raw file contents).
	Seeds []string
}

// Fuzz runs the shared config file target for fm.
func Fuzz[C any](f *testing.F, fm Format[C]) {
	base := f.TempDir()
	b, err := pki.GenerateLocal(filepath.Join(base, "certs"), nil)
	if err != nil {
		f.Fatal(err)
	}
	dir := filepath.Join(base, "dir")
	if err := os.Mkdir(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	for _, s := range fm.Seeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"log_level":"loud"}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(`{}}`))
	f.Add([]byte(`{}]`))
	f.Add([]byte(`[]`))
	for _, c := range fm.Valid(b, dir) {
		if err := fm.Validate(c); err != nil {
			f.Fatalf("a Valid config is refused: %v", err)
		}
		data, err := json.MarshalIndent(c, "", "  ")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(append(data, '}')) // trailing data Decode once let through
	}

	seq := 0
	f.Fuzz(func(t *testing.T, data []byte) {
		seq++
		path := filepath.Join(base, "config-"+strconv.Itoa(seq)+".json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(path)
		loaded, loadErr := fm.Load(path)
		parsed, parseErr := fm.Parse(bytes.NewReader(data))
		if parseErr == nil {
			parseErr = fm.Validate(parsed)
		}
		if (loadErr == nil) != (parseErr == nil) {
			t.Fatalf("Load says %v, Parse and Validate say %v", loadErr, parseErr)
		}
		if loadErr != nil {
			msg := loadErr.Error()
			if !strings.Contains(msg, path) {
				t.Errorf("Load's error does not name the file %s: %q", path, msg)
			}
			// "%!" is fmt's mark of a bad verb, unless the file itself
			// has it (an unknown field named "%!0" is quoted as given).
			if strings.Contains(msg, "%!") && !bytes.Contains(data, []byte("%!")) {
				t.Errorf("Load's error is misformatted: %q", msg)
			}
			return
		}
		var plain C
		if err := json.Unmarshal(data, &plain); err != nil {
			t.Fatalf("Load accepted what json.Unmarshal refuses: %v", err)
		}
		first, err := json.Marshal(loaded)
		if err != nil {
			t.Fatalf("an accepted config does not marshal: %v", err)
		}
		again, err := fm.Parse(bytes.NewReader(first))
		if err != nil {
			t.Fatalf("an accepted config, marshalled, does not parse: %v\n%s", err, first)
		}
		if err := fm.Validate(again); err != nil {
			t.Fatalf("an accepted config, marshalled and parsed, is refused: %v\n%s", err, first)
		}
		second, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("round trip changed the config:\n%s\n%s", first, second)
		}
	})
}

// WithFiles sets every string field of *c whose JSON name ends in "_file"
// to one of b's files (a CA for names with "ca_", a key for names with
// "key", a certificate otherwise), so that only the component's other
// required settings remain for Valid to fill.
func WithFiles[C any](c C, b *pki.Bundle) C {
	v := reflect.ValueOf(&c).Elem()
	fillFiles(v, b)
	return c
}

func fillFiles(v reflect.Value, b *pki.Bundle) {
	for i := 0; i < v.NumField(); i++ {
		sf, fv := v.Type().Field(i), v.Field(i)
		if !sf.IsExported() {
			continue
		}
		if sf.Type.Kind() == reflect.Struct && sf.Anonymous {
			fillFiles(fv, b)
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if sf.Type.Kind() != reflect.String || !strings.HasSuffix(name, "_file") {
			continue
		}
		switch {
		case strings.Contains(name, "ca_") || strings.HasPrefix(name, "ca"):
			fv.SetString(b.CACert)
		case strings.Contains(name, "key"):
			fv.SetString(b.ServerKey)
		default:
			fv.SetString(b.ServerCert)
		}
	}
}
