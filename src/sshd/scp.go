package sshd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// scpOptions are the flags of `scp -t` (sink) and `scp -f` (source), the
// commands an OpenSSH client runs on the remote side for the legacy
// protocol (scp -O).
type scpOptions struct {
	sink, source, targetIsDir, recursive, preserve bool
	paths                                          []string
}

func parseSCP(command string) (scpOptions, error) {
	var o scpOptions
	args, err := splitWords(command)
	if err != nil {
		return o, err
	}
	if len(args) == 0 || args[0] != "scp" {
		return o, errors.New("not an scp command")
	}
	i := 1
	for ; i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "-"; i++ {
		if args[i] == "--" {
			i++
			break
		}
		for _, f := range args[i][1:] {
			switch f {
			case 't':
				o.sink = true
			case 'f':
				o.source = true
			case 'd':
				o.targetIsDir = true
			case 'r':
				o.recursive = true
			case 'p':
				o.preserve = true
			case 'v', 'q', 'E':
			default:
				return o, fmt.Errorf("unknown option -%c", f)
			}
		}
	}
	o.paths = args[i:]
	switch {
	case o.sink == o.source:
		return o, errors.New("Must specify either target mode(-t) or source mode(-f) at a time")
	case o.sink && len(o.paths) != 1:
		return o, errors.New("Must specify one target in target mode")
	case o.source && len(o.paths) == 0:
		return o, errors.New("Must specify at least one source in source mode")
	}
	return o, nil
}

// splitWords splits a command line as a POSIX shell would for words:
// quotes and backslashes, no expansion.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("unterminated double quote")
			}
			inWord = true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// scpSession speaks the scp protocol over a channel.
type scpSession struct {
	in     *bufio.Reader
	out    io.Writer
	stderr io.Writer
	opts   scpOptions
}

// runSCP serves one scp -t or scp -f command over in/out.
func runSCP(command string, ch io.ReadWriter, stderr io.Writer) error {
	o, err := parseSCP(command)
	if err != nil {
		fmt.Fprintf(stderr, "scp: %v\n", err)
		return err
	}
	s := &scpSession{in: bufio.NewReader(ch), out: ch, stderr: stderr, opts: o}
	if o.sink {
		return s.sink(o.paths[0])
	}
	return s.sourceAll()
}

func (s *scpSession) ack() error {
	_, err := s.out.Write([]byte{0})
	return err
}

// fail sends a (non-fatal to the peer's session) error line.
func (s *scpSession) fail(err error) error {
	fmt.Fprintf(s.out, "\x01scp: %v\n", err)
	return err
}

// readAck reads the peer's response to a message.
func (s *scpSession) readAck() error {
	b, err := s.in.ReadByte()
	if err != nil {
		return err
	}
	if b == 0 {
		return nil
	}
	msg, _ := s.in.ReadString('\n')
	if b == 1 {
		fmt.Fprint(s.stderr, msg)
		return nil
	}
	return errors.New(strings.TrimSpace(msg))
}

// sink receives files and directories into target.
func (s *scpSession) sink(target string) error {
	info, err := os.Stat(target)
	isDir := err == nil && info.IsDir()
	if s.opts.targetIsDir && !isDir {
		return s.fail(fmt.Errorf("%s: target is not a directory", target))
	}
	if err := s.ack(); err != nil {
		return err
	}
	dirs := []string{} // the directories being received, innermost last
	var times *[2]time.Time
	var firstErr error
	for {
		line, err := s.in.ReadString('\n')
		if err == io.EOF && line == "" {
			return firstErr
		}
		if err != nil {
			return err
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			return s.fail(errors.New("empty protocol line"))
		}
		switch line[0] {
		case 1, 2:
			fmt.Fprintln(s.stderr, line[1:])
			if line[0] == 2 {
				return errors.New(line[1:])
			}
			continue
		case 'E':
			if len(dirs) == 0 {
				return s.fail(errors.New("unexpected E message"))
			}
			dirs = dirs[:len(dirs)-1]
			if err := s.ack(); err != nil {
				return err
			}
			continue
		case 'T':
			var mtime, atime int64
			var mu, au int64
			if _, err := fmt.Sscanf(line[1:], "%d %d %d %d", &mtime, &mu, &atime, &au); err != nil {
				return s.fail(fmt.Errorf("bad time message %q", line))
			}
			times = &[2]time.Time{time.Unix(mtime, mu*1000), time.Unix(atime, au*1000)}
			if err := s.ack(); err != nil {
				return err
			}
			continue
		case 'C', 'D':
		default:
			return s.fail(fmt.Errorf("unexpected message type: %c", line[0]))
		}
		mode, size, name, err := parseEntry(line)
		if err != nil {
			return s.fail(err)
		}
		dest := target
		if len(dirs) > 0 {
			dest = filepath.Join(dirs[len(dirs)-1], name)
		} else if isDir {
			dest = filepath.Join(target, name)
		}
		if line[0] == 'D' {
			if !s.opts.recursive {
				return s.fail(errors.New("received directory without -r"))
			}
			if err := os.MkdirAll(dest, mode|0o700); err != nil {
				return s.fail(err)
			}
			if s.opts.preserve {
				os.Chmod(dest, mode)
			}
			dirs = append(dirs, dest)
			times = nil
			if err := s.ack(); err != nil {
				return err
			}
			continue
		}
		if err := s.receiveFile(dest, mode, size, times); err != nil {
			if firstErr == nil {
				firstErr = err
			}
		}
		times = nil
	}
}

func parseEntry(line string) (os.FileMode, int64, string, error) {
	parts := strings.SplitN(line[1:], " ", 3)
	if len(parts) != 3 {
		return 0, 0, "", fmt.Errorf("bad protocol line %q", line)
	}
	mode, err1 := strconv.ParseUint(parts[0], 8, 32)
	size, err2 := strconv.ParseInt(parts[1], 10, 64)
	name := parts[2]
	if err1 != nil || err2 != nil || size < 0 || name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
		return 0, 0, "", fmt.Errorf("bad protocol line %q", line)
	}
	return os.FileMode(mode) & os.ModePerm, size, name, nil
}

func (s *scpSession) receiveFile(dest string, mode os.FileMode, size int64, times *[2]time.Time) error {
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		// the data still comes: read it past, then report
		s.ack()
		io.CopyN(io.Discard, s.in, size)
		s.in.ReadByte()
		return s.fail(err)
	}
	if err := s.ack(); err != nil {
		f.Close()
		return err
	}
	_, err = io.CopyN(f, s.in, size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return s.fail(err)
	}
	if s.opts.preserve {
		os.Chmod(dest, mode)
		if times != nil {
			os.Chtimes(dest, times[1], times[0])
		}
	}
	if err := s.readAck(); err != nil {
		return err
	}
	return s.ack()
}

// sourceAll sends every source path (glob patterns expanded).
func (s *scpSession) sourceAll() error {
	if err := s.readAck(); err != nil {
		return err
	}
	var lastErr error
	for _, pattern := range s.opts.paths {
		matches, err := filepath.Glob(pattern)
		if err != nil || len(matches) == 0 {
			matches = []string{pattern}
		}
		for _, p := range matches {
			if err := s.send(p); err != nil {
				lastErr = err
			}
		}
	}
	return lastErr
}

func (s *scpSession) send(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return s.fail(err)
	}
	if s.opts.preserve {
		t := info.ModTime().Unix()
		fmt.Fprintf(s.out, "T%d 0 %d 0\n", t, t)
		if err := s.readAck(); err != nil {
			return err
		}
	}
	if info.IsDir() {
		if !s.opts.recursive {
			return s.fail(fmt.Errorf("%s: not a regular file", info.Name()))
		}
		fmt.Fprintf(s.out, "D%04o 0 %s\n", info.Mode()&os.ModePerm, info.Name())
		if err := s.readAck(); err != nil {
			return err
		}
		entries, err := os.ReadDir(path)
		if err != nil {
			return s.fail(err)
		}
		for _, e := range entries {
			if err := s.send(filepath.Join(path, e.Name())); err != nil {
				return err
			}
		}
		fmt.Fprint(s.out, "E\n")
		return s.readAck()
	}
	if !info.Mode().IsRegular() {
		return s.fail(fmt.Errorf("%s: not a regular file", info.Name()))
	}
	f, err := os.Open(path)
	if err != nil {
		return s.fail(err)
	}
	defer f.Close()
	fmt.Fprintf(s.out, "C%04o %d %s\n", info.Mode()&os.ModePerm, info.Size(), info.Name())
	if err := s.readAck(); err != nil {
		return err
	}
	if _, err := io.CopyN(s.out, f, info.Size()); err != nil {
		return err
	}
	if err := s.ack(); err != nil {
		return err
	}
	return s.readAck()
}
