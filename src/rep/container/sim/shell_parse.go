package sim

// The parser of the small shell: words with quoting and parameters, simple
// commands with redirections, &&, ||, ;, &, if and while.

import (
	"errors"
	"fmt"
	"strings"
)

// part is a piece of a word: literal text or a parameter to expand.
type part struct {
	text   string
	param  bool
	quoted bool
}

type word []part

type redir struct {
	fd     int
	op     string // ">", ">>", "<", ">&"
	target word
}

type simpleCmd struct {
	words  []word
	redirs []redir
}

type ifCmd struct{ cond, then, els *list }

type whileCmd struct{ cond, body *list }

// andOr is a chain of commands joined by && and ||; ops[i] joins cmds[i]
// and cmds[i+1].
type andOr struct {
	cmds []any // *simpleCmd, *ifCmd, *whileCmd
	ops  []string
}

type list struct {
	items []andOr
	bg    []bool // item i ends with &
}

type token struct {
	op  string // "" for a word
	w   word
	adj bool // an operator right after a word ("2>")
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' }

type lexer struct {
	src  string
	pos  int
	toks []token
}

func isOpChar(b byte) bool { return strings.IndexByte(";&|<>()\n", b) >= 0 }

func lex(src string) ([]token, error) {
	l := &lexer{src: src}
	for {
		for l.pos < len(l.src) && (l.src[l.pos] == ' ' || l.src[l.pos] == '\t') {
			l.pos++
		}
		if l.pos >= len(l.src) {
			return l.toks, nil
		}
		ch := l.src[l.pos]
		switch {
		case ch == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		case ch == '\\' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '\n':
			l.pos += 2
		case isOpChar(ch):
			op := string(ch)
			for _, two := range []string{"&&", "||", ">>", ">&", ";;"} {
				if strings.HasPrefix(l.src[l.pos:], two) {
					op = two
				}
			}
			if op == "\n" {
				op = ";"
			}
			if op == "|" || op == "(" || op == ")" || op == ";;" {
				return nil, fmt.Errorf("sh: %q is not supported by the sim shell", op)
			}
			adj := l.pos > 0 && len(l.toks) > 0 && l.toks[len(l.toks)-1].op == "" && !isSpace(l.src[l.pos-1])
			l.pos += len(op)
			l.toks = append(l.toks, token{op: op, adj: adj})
		default:
			w, err := l.word()
			if err != nil {
				return nil, err
			}
			l.toks = append(l.toks, token{w: w})
		}
	}
}

func (l *lexer) word() (word, error) {
	var w word
	var lit strings.Builder
	flush := func(quoted bool) {
		if lit.Len() > 0 || quoted {
			w = append(w, part{text: lit.String(), quoted: quoted})
			lit.Reset()
		}
	}
	for l.pos < len(l.src) {
		ch := l.src[l.pos]
		switch {
		case ch == ' ' || ch == '\t' || isOpChar(ch):
			flush(false)
			return w, nil
		case ch == '\\':
			if l.pos+1 < len(l.src) {
				lit.WriteByte(l.src[l.pos+1])
			}
			l.pos += 2
		case ch == '\'':
			end := strings.IndexByte(l.src[l.pos+1:], '\'')
			if end < 0 {
				return nil, errors.New("sh: unterminated quoted string")
			}
			flush(false)
			lit.WriteString(l.src[l.pos+1 : l.pos+1+end])
			flush(true)
			l.pos += end + 2
		case ch == '"':
			flush(false)
			l.pos++
			closed := false
			for l.pos < len(l.src) && !closed {
				c := l.src[l.pos]
				switch {
				case c == '"':
					closed = true
					l.pos++
				case c == '\\' && l.pos+1 < len(l.src) && strings.IndexByte("$`\"\\\n", l.src[l.pos+1]) >= 0:
					lit.WriteByte(l.src[l.pos+1])
					l.pos += 2
				case c == '$':
					if p, ok := l.param(); ok {
						flush(true)
						p.quoted = true
						w = append(w, p)
					} else {
						lit.WriteByte('$')
						l.pos++
					}
				default:
					lit.WriteByte(c)
					l.pos++
				}
			}
			if !closed {
				return nil, errors.New("sh: unterminated quoted string")
			}
			flush(true)
		case ch == '$':
			if p, ok := l.param(); ok {
				flush(false)
				w = append(w, p)
			} else {
				lit.WriteByte('$')
				l.pos++
			}
		default:
			lit.WriteByte(ch)
			l.pos++
		}
	}
	flush(false)
	return w, nil
}

// param reads a parameter at l.pos ("$"); false if none is there.
func (l *lexer) param() (part, bool) {
	rest := l.src[l.pos+1:]
	if rest == "" {
		return part{}, false
	}
	switch c := rest[0]; {
	case strings.IndexByte("$?#@*!0123456789", c) >= 0:
		l.pos += 2
		return part{text: string(c), param: true}, true
	case c == '{':
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return part{}, false
		}
		l.pos += end + 2
		return part{text: rest[1:end], param: true}, true
	case c == '_' || isAlpha(c):
		n := 1
		for n < len(rest) && (rest[n] == '_' || isAlpha(rest[n]) || (rest[n] >= '0' && rest[n] <= '9')) {
			n++
		}
		l.pos += n + 1
		return part{text: rest[:n], param: true}, true
	}
	return part{}, false
}

func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// literal is the word's text if it has no parameter and no quotes.
func (w word) literal() (string, bool) {
	var b strings.Builder
	for _, p := range w {
		if p.param || p.quoted {
			return "", false
		}
		b.WriteString(p.text)
	}
	return b.String(), true
}

type parser struct {
	toks []token
	pos  int
}

func parse(src string) (*list, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	l, err := p.list()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("sh: syntax error near %s", p.describe())
	}
	return l, nil
}

func (p *parser) describe() string {
	if p.pos >= len(p.toks) {
		return "end of file"
	}
	if t := p.toks[p.pos]; t.op != "" {
		return fmt.Sprintf("%q", t.op)
	}
	s, _ := p.toks[p.pos].w.literal()
	return fmt.Sprintf("%q", s)
}

// keyword reports whether the next token is one of kws, unquoted.
func (p *parser) keyword(kws ...string) string {
	if p.pos >= len(p.toks) || p.toks[p.pos].op != "" {
		return ""
	}
	s, ok := p.toks[p.pos].w.literal()
	if !ok {
		return ""
	}
	for _, k := range kws {
		if s == k {
			return k
		}
	}
	return ""
}

func (p *parser) op(ops ...string) string {
	if p.pos < len(p.toks) {
		for _, o := range ops {
			if p.toks[p.pos].op == o {
				return o
			}
		}
	}
	return ""
}

var terminators = []string{"then", "else", "elif", "fi", "do", "done"}

func (p *parser) list() (*list, error) {
	l := &list{}
	for {
		for p.op(";") != "" {
			p.pos++
		}
		if p.pos >= len(p.toks) || p.keyword(terminators...) != "" {
			return l, nil
		}
		ao, err := p.andOr()
		if err != nil {
			return nil, err
		}
		bg := p.op("&") != ""
		if bg || p.op(";") != "" {
			p.pos++
		} else if p.pos < len(p.toks) && p.keyword(terminators...) == "" {
			return nil, fmt.Errorf("sh: syntax error near %s", p.describe())
		}
		l.items, l.bg = append(l.items, ao), append(l.bg, bg)
	}
}

func (p *parser) andOr() (andOr, error) {
	var ao andOr
	for {
		c, err := p.command()
		if err != nil {
			return ao, err
		}
		ao.cmds = append(ao.cmds, c)
		op := p.op("&&", "||")
		if op == "" {
			return ao, nil
		}
		p.pos++
		ao.ops = append(ao.ops, op)
	}
}

func (p *parser) expect(kw string) error {
	if p.keyword(kw) == "" {
		return fmt.Errorf("sh: syntax error near %s: %s expected", p.describe(), kw)
	}
	p.pos++
	return nil
}

func (p *parser) command() (any, error) {
	switch p.keyword("if", "while", "until") {
	case "if":
		p.pos++
		return p.ifRest()
	case "while":
		p.pos++
		cond, err := p.list()
		if err != nil {
			return nil, err
		}
		if err := p.expect("do"); err != nil {
			return nil, err
		}
		body, err := p.list()
		if err != nil {
			return nil, err
		}
		return &whileCmd{cond: cond, body: body}, p.expect("done")
	case "until":
		return nil, errors.New("sh: until is not supported by the sim shell")
	}
	sc := &simpleCmd{}
	for p.pos < len(p.toks) {
		t := p.toks[p.pos]
		if t.op == "" {
			// An fd before a redirection: "2>file", "2>&1".
			if s, ok := t.w.literal(); ok && len(s) == 1 && s[0] >= '0' && s[0] <= '9' && p.pos+1 < len(p.toks) && isRedirOp(p.toks[p.pos+1].op) && p.toks[p.pos+1].adj {
				p.pos++
				r, err := p.redir(int(s[0] - '0'))
				if err != nil {
					return nil, err
				}
				sc.redirs = append(sc.redirs, r)
				continue
			}
			sc.words = append(sc.words, t.w)
			p.pos++
			continue
		}
		if !isRedirOp(t.op) {
			break
		}
		fd := 1
		if t.op == "<" {
			fd = 0
		}
		r, err := p.redir(fd)
		if err != nil {
			return nil, err
		}
		sc.redirs = append(sc.redirs, r)
	}
	if len(sc.words) == 0 && len(sc.redirs) == 0 {
		return nil, fmt.Errorf("sh: syntax error near %s", p.describe())
	}
	return sc, nil
}

func isRedirOp(op string) bool { return op == ">" || op == ">>" || op == "<" || op == ">&" }

func (p *parser) redir(fd int) (redir, error) {
	op := p.toks[p.pos].op
	p.pos++
	if p.pos >= len(p.toks) || p.toks[p.pos].op != "" {
		return redir{}, fmt.Errorf("sh: syntax error near %s: a file expected after %s", p.describe(), op)
	}
	r := redir{fd: fd, op: op, target: p.toks[p.pos].w}
	p.pos++
	return r, nil
}

func (p *parser) ifRest() (any, error) {
	cond, err := p.list()
	if err != nil {
		return nil, err
	}
	if err := p.expect("then"); err != nil {
		return nil, err
	}
	then, err := p.list()
	if err != nil {
		return nil, err
	}
	ic := &ifCmd{cond: cond, then: then}
	switch p.keyword("elif", "else") {
	case "elif":
		p.pos++
		nested, err := p.ifRest()
		if err != nil {
			return nil, err
		}
		ic.els = &list{items: []andOr{{cmds: []any{nested}}}, bg: []bool{false}}
		return ic, nil
	case "else":
		p.pos++
		if ic.els, err = p.list(); err != nil {
			return nil, err
		}
	}
	return ic, p.expect("fi")
}
