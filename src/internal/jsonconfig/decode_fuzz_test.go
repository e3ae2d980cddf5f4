package jsonconfig

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecode: Decode accepts exactly one JSON object with nothing after it
// (what json.Unmarshal accepts for an object), and decodes it as Unmarshal
// does; a stray '}' or ']' after the object once passed (seed).
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `{} `, `{}}`, `{}]`, `{} {}`, `{"a":1}`, `{"a":"30s","b":[1,2]}`, `[]`, `null`, ``, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got map[string]any
		err := Decode(bytes.NewReader(data), &got)
		var want map[string]any
		werr := json.Unmarshal(data, &want)
		if err == nil && werr != nil {
			t.Fatalf("Decode accepted %q, json.Unmarshal refuses it: %v", data, werr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("Decode gave %v, json.Unmarshal %v", got, want)
		}
		if err != nil && werr == nil && want != nil {
			t.Fatalf("Decode refused the object %q: %v", data, err)
		}
	})
}
