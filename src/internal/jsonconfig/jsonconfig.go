// Package jsonconfig decodes the components' JSON config files strictly (an
// unknown field or trailing data is an error) and parses the settings they share.
package jsonconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Decode reads one JSON object from r into dst, over whatever defaults dst
// already holds. A misspelt property name fails here instead of being ignored.
func Decode(r io.Reader, dst any) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("parsing config: %w", err)
	}
	// dec.More would miss a stray '}' or ']': only the end of the input will do.
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("parsing config: unexpected data after the JSON object")
	}
	return nil
}

var levels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}

// Level parses a log_level setting.
func Level(s string) (slog.Level, error) {
	l, ok := levels[strings.ToLower(s)]
	if !ok {
		return 0, fmt.Errorf("log_level %q must be debug, info, warn or error", s)
	}
	return l, nil
}

// Duration is a time.Duration that reads "30s" or a number of nanoseconds
// and writes itself as a string.
type Duration time.Duration

// UnmarshalJSON accepts a Go duration string or an integer of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration must be a string like \"30s\" or nanoseconds: %s", b)
	}
	*d = Duration(n)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// LoadFile opens path, parses it with parse (which applies defaults) and
// validates the result; errors name the file.
func LoadFile[C any](path string, parse func(io.Reader) (C, error), validate func(C) error) (C, error) {
	var zero C
	f, err := os.Open(path)
	if err != nil {
		return zero, fmt.Errorf("opening config: %w", err)
	}
	defer f.Close()
	c, err := parse(f)
	if err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if err := validate(c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
