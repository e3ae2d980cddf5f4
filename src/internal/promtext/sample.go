package promtext

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// parseSample reads NAME[{LABELS}] VALUE [TIMESTAMP] (line trimmed).
func parseSample(line string) (Sample, error) {
	var s Sample
	i := nameEnd(line, true)
	if i == 0 {
		return s, errors.New("no metric name")
	}
	s.Name = line[:i]
	rest := strings.TrimLeft(line[i:], " \t")
	if strings.HasPrefix(rest, "{") {
		ls, n, err := parseLabels(rest)
		if err != nil {
			return s, err
		}
		s.Labels, rest = ls, rest[n:]
	} else if len(rest) == len(line[i:]) && rest != "" {
		return s, fmt.Errorf("invalid character %q in the metric name", rest[0])
	}
	fields := strings.Fields(rest)
	switch len(fields) {
	case 0:
		return s, errors.New("no value")
	case 1, 2:
	default:
		return s, errors.New("more than a value and a timestamp")
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, fmt.Errorf("the value %q is not a number", fields[0])
	}
	s.Value = v
	if len(fields) == 2 {
		ts, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			return s, fmt.Errorf("the timestamp %q is not an integer", fields[1])
		}
		s.Timestamp = ts
	}
	return s, nil
}

// parseLabels reads {name="value",...} at the start of s and returns the
// labels sorted by name and the bytes read.
func parseLabels(s string) (Labels, int, error) {
	var ls Labels
	i := 1 // past '{'
	for {
		i = skipBlanks(s, i)
		if i < len(s) && s[i] == '}' {
			i++
			break
		}
		n := nameEnd(s[i:], false)
		if n == 0 {
			if i >= len(s) {
				return nil, 0, errors.New("the labels have no closing '}'")
			}
			return nil, 0, fmt.Errorf("invalid character %q where a label name should be", s[i])
		}
		name := s[i : i+n]
		i = skipBlanks(s, i+n)
		if i >= len(s) || s[i] != '=' {
			return nil, 0, fmt.Errorf("label %s has no '='", name)
		}
		i = skipBlanks(s, i+1)
		value, n, err := quoted(s[i:])
		if err != nil {
			return nil, 0, fmt.Errorf("label %s: %w", name, err)
		}
		i = skipBlanks(s, i+n)
		if _, dup := ls.Lookup(name); dup {
			return nil, 0, fmt.Errorf("label %s given twice", name)
		}
		ls = append(ls, Label{Name: name, Value: value})
		switch {
		case i < len(s) && s[i] == ',':
			i++
		case i < len(s) && s[i] == '}':
		case i >= len(s):
			return nil, 0, errors.New("the labels have no closing '}'")
		default:
			return nil, 0, fmt.Errorf("invalid character %q after label %s (want ',' or '}')", s[i], name)
		}
	}
	sort.Slice(ls, func(a, b int) bool { return ls[a].Name < ls[b].Name })
	return ls, i, nil
}

// quoted reads a "..." label value at the start of s, with the escapes
// \\, \" and \n, and returns it and the bytes read.
func quoted(s string) (string, int, error) {
	if s == "" || s[0] != '"' {
		return "", 0, errors.New(`the value is not in "quotes"`)
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			i++
			if i >= len(s) {
				return "", 0, errors.New("the value has no closing quote")
			}
			switch s[i] {
			case '\\', '"':
				b.WriteByte(s[i])
			case 'n':
				b.WriteByte('\n')
			default:
				return "", 0, fmt.Errorf(`invalid escape \%c in the value`, s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errors.New("the value has no closing quote")
}

// nameEnd is the length of the metric name (colons allowed) or label name
// at the start of s: [a-zA-Z_:][a-zA-Z0-9_:]*.
func nameEnd(s string, colons bool) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || colons && c == ':' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			return i
		}
	}
	return len(s)
}

func validName(s string, colons bool) bool { return s != "" && nameEnd(s, colons) == len(s) }

func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}
