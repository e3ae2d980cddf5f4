package auctioneer

import (
	"bytes"
	"encoding/json"

	"code.cloudfoundry.org/rep"
)

// lrpCache holds the LRPs decoded from a cell's last state body, in the
// body's order, with the bytes each was decoded from.
type lrpCache struct {
	body  []byte
	spans [][2]int // each LRP's bytes in body
	lrps  []rep.LRP
}

// enc is the i-th cached LRP's encoding.
func (c *lrpCache) enc(i int) []byte { return c.body[c.spans[i][0]:c.spans[i][1]] }

// decodeState decodes a cell's GET /state body as json.Unmarshal into a
// rep.CellState would, but decodes again only the LRPs whose encoding is
// not in prev (the cache from the cell's last body, or nil), and returns
// the cache for this body. During a ramp every cell changes between two
// rounds, a few of its 200 instances at a time, so the ETag spares
// nothing and decoding whole states was half of the auctioneer's CPU at
// 250,000 instances. The reference rep's encoding of an LRP is the same
// while it does not change, as ours is (the rep caches each LRP's
// encoding, cell.Ledger.StateJSON).
//
// The two bodies are walked side by side (a rep lists its LRPs in a
// stable order): an LRP equal to the last body's next one, or to the one
// after it (the next was removed), is taken from the cache; any other is
// decoded, and when the LRP after it matches the last body's next one it
// was inserted there. Comparing the bodies in order reads memory in order,
// where looking each LRP up by its bytes in a map did not.
//
// The body is cut at the top level only: the LRP list's elements are found
// by a scan that knows strings and nesting, the rest of the body is decoded
// with the list emptied. Anything the scan does not expect (no list, two
// of them, an escaped key, a malformed list) is decoded whole instead, so
// errors are json.Unmarshal's.
func decodeState(body []byte, prev *lrpCache) (rep.CellState, *lrpCache, error) {
	var st rep.CellState
	cut, ok := cutLRPs(body)
	if !ok {
		err := json.Unmarshal(body, &st)
		return st, nil, err
	}
	head := make([]byte, 0, len(body)-(cut.end-cut.start)+4)
	head = append(head, body[:cut.start]...)
	head = append(head, "null"...)
	head = append(head, body[cut.end:]...)
	if err := json.Unmarshal(head, &st); err != nil {
		return rep.CellState{}, nil, err
	}
	next := &lrpCache{body: body, spans: cut.elems, lrps: make([]rep.LRP, len(cut.elems))}
	if prev == nil {
		prev = &lrpCache{}
	}
	j := 0 // the last body's next LRP
	for i, e := range cut.elems {
		raw := body[e[0]:e[1]]
		switch {
		case j < len(prev.spans) && bytes.Equal(raw, prev.enc(j)):
			next.lrps[i] = prev.lrps[j]
			j++
		case j+1 < len(prev.spans) && bytes.Equal(raw, prev.enc(j+1)):
			next.lrps[i] = prev.lrps[j+1]
			j += 2
		default:
			if err := json.Unmarshal(raw, &next.lrps[i]); err != nil {
				return rep.CellState{}, nil, err
			}
			inserted := i+1 < len(cut.elems) && j < len(prev.spans) &&
				bytes.Equal(body[cut.elems[i+1][0]:cut.elems[i+1][1]], prev.enc(j))
			if !inserted {
				j++ // changed in place
			}
		}
	}
	switch {
	case len(cut.elems) > 0:
		// Shared with the cache: states are read, never written (a 304
		// hands a round the cached state itself).
		st.LRPs = next.lrps
	case cut.empty:
		st.LRPs = []rep.LRP{}
	}
	return st, next, nil
}

// lrpsCut is where a state body's LRP list is: the list's value spans
// [start, end), its elements elems (each [from, to)); empty marks "[]"
// (as opposed to null).
type lrpsCut struct {
	start, end int
	elems      [][2]int
	empty      bool
}

// lrpsField is rep.CellState's LRP list as encoding/json names it (it
// matches keys case-insensitively).
const lrpsField = "LRPs"

// cutLRPs finds the LRP list of the top-level object in body; ok is false
// when there is no single, well-formed list to cut out.
func cutLRPs(body []byte) (cut lrpsCut, ok bool) {
	s := scanner{b: body}
	s.space()
	if !s.eat('{') {
		return cut, false
	}
	found := false
	for first := true; ; first = false {
		s.space()
		if s.eat('}') {
			break
		}
		if !first && !(s.eat(',') && s.spaceThen()) {
			return cut, false
		}
		kStart := s.i
		if !s.str() {
			return cut, false
		}
		key := body[kStart+1 : s.i-1]
		s.space()
		if !s.eat(':') {
			return cut, false
		}
		s.space()
		if bytes.IndexByte(key, '\\') >= 0 {
			return cut, false // an escaped key might spell the field
		}
		if !bytes.EqualFold(key, []byte(lrpsField)) {
			if !s.value() {
				return cut, false
			}
			continue
		}
		if found || !s.list(&cut) {
			return cut, false
		}
		found = true
	}
	return cut, found
}

// scanner walks JSON well enough to find values' extents: it knows
// strings (with escapes) and nesting, and leaves checking everything else
// to json.Unmarshal.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// spaceThen skips white space and reports that input remains.
func (s *scanner) spaceThen() bool {
	s.space()
	return s.i < len(s.b)
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str skips a string starting at s.i: to the first quote not escaped
// (preceded by an even number of backslashes).
func (s *scanner) str() bool {
	if !s.eat('"') {
		return false
	}
	for {
		j := bytes.IndexByte(s.b[s.i:], '"')
		if j < 0 {
			return false
		}
		q := s.i + j
		s.i = q + 1
		n := 0
		for k := q - 1; k >= 0 && s.b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return true
		}
	}
}

// structural marks the bytes value stops at inside an object or array.
var structural = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true}

// value skips one value starting at s.i: a string, an object or array
// (to its matching close), or a literal (to the next delimiter).
func (s *scanner) value() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"':
		return s.str()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			if !structural[s.b[s.i]] {
				s.i++
				continue
			}
			switch s.b[s.i] {
			case '"':
				if !s.str() {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	default:
		start := s.i
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return s.i > start
			}
			s.i++
		}
		return false
	}
}

// list records the LRP list starting at s.i: an array of values, or null.
func (s *scanner) list(cut *lrpsCut) bool {
	cut.start = s.i
	if s.i < len(s.b) && s.b[s.i] != '[' {
		if !s.value() {
			return false
		}
		cut.end = s.i
		return string(s.b[cut.start:cut.end]) == "null"
	}
	s.i++
	for first := true; ; first = false {
		s.space()
		if s.eat(']') {
			cut.end = s.i
			cut.empty = first
			return true
		}
		if !first && !(s.eat(',') && s.spaceThen()) {
			return false
		}
		from := s.i
		if !s.value() {
			return false
		}
		cut.elems = append(cut.elems, [2]int{from, s.i})
	}
}
