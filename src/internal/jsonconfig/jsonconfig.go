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
	"strings"
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
	if dec.More() {
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
