package jsonconfig

import (
	"log/slog"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	var c struct {
		A string `json:"a"`
		B int    `json:"b"`
	}
	c.B = 7
	if err := Decode(strings.NewReader(`{"a":"x"}`), &c); err != nil || c.A != "x" || c.B != 7 {
		t.Fatalf("c = %+v, err = %v", c, err)
	}
	for in, want := range map[string]string{
		`{"c":1}`:      `unknown field "c"`,
		`{"a":"x"} {}`: "unexpected data after the JSON object",
		`{"a":`:        "parsing config",
	} {
		if err := Decode(strings.NewReader(in), &c); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Decode(%s) = %v, want %q", in, err, want)
		}
	}
}

func TestLevel(t *testing.T) {
	if l, err := Level("WARN"); err != nil || l != slog.LevelWarn {
		t.Fatalf("Level(WARN) = %v, %v", l, err)
	}
	if _, err := Level("loud"); err == nil || !strings.Contains(err.Error(), `"loud"`) {
		t.Fatalf("err = %v", err)
	}
}
