// Package render writes the diego CLI's output: one JSON object per line
// (the reference operator tool's format, encoding/json of the reference
// models) or aligned tables for people.
package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Format is an output format.
type Format string

// The output formats.
const (
	JSON  Format = "json"
	Table Format = "table"
)

// ParseFormat validates a --output value.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case JSON, Table:
		return Format(s), nil
	}
	return "", fmt.Errorf("unknown output format %q (want json or table)", s)
}

// Lines writes each value as one line of JSON, as encoding/json encodes it.
func Lines[T any](w io.Writer, values []T) error {
	enc := json.NewEncoder(w)
	for _, v := range values {
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("encoding output: %w", err)
		}
	}
	return nil
}

// Tab writes rows under header as an aligned table.
func Tab(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// Print writes values in format f; row renders one value as a table row.
func Print[T any](w io.Writer, f Format, values []T, header []string, row func(T) []string) error {
	if f != Table {
		return Lines(w, values)
	}
	rows := make([][]string, 0, len(values))
	for _, v := range values {
		rows = append(rows, row(v))
	}
	return Tab(w, header, rows)
}
