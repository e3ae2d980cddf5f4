package loggregator

import (
	"bytes"
	"maps"
	"strconv"
	"sync"
	"time"

	v2 "code.cloudfoundry.org/go-loggregator/v8/rpc/loggregator_v2"

	"github.com/diego-go/diego/src/wallclock"
)

// maxLine is the longest payload of one envelope; longer lines are split,
// as the executor's log streamer splits at its message limit.
const maxLine = 61440

// Source describes whose output a writer carries: Tags are the desired
// LRP's or task's metric_tags with instance_id set to the index (as the
// executor sets them), SourceType is its log_source ("APP/PROC/WEB").
type Source struct {
	Tags       map[string]string
	SourceType string
}

// LogEnvelope builds the envelope diego-logging-client's SendAppLog
// (stdout) or SendAppErrorLog (stderr) emits for one line.
func LogEnvelope(src Source, line []byte, stderr bool, now time.Time) *v2.Envelope {
	tags := maps.Clone(src.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	tags["source_type"] = src.SourceType
	typ := v2.Log_OUT
	if stderr {
		typ = v2.Log_ERR
	}
	return &v2.Envelope{
		Timestamp:  now.UnixNano(),
		SourceId:   src.Tags["source_id"],
		InstanceId: src.Tags["instance_id"],
		Tags:       tags,
		Message:    &v2.Envelope_Log{Log: &v2.Log{Payload: bytes.Clone(line), Type: typ}},
	}
}

// Writer turns a stream of output into one envelope per line. Writes never
// block on the network: envelopes go to the client's bounded buffer.
type Writer struct {
	c      *Client
	src    Source
	stderr bool
	mu     sync.Mutex
	buf    []byte
}

// Writer returns the writer for src's stdout, or stderr when stderr is set.
// Call Flush when the stream ends to send a last unterminated line.
func (c *Client) Writer(src Source, stderr bool) *Writer {
	return &Writer{c: c, src: src, stderr: stderr}
}

// Write emits every complete line of p (without its newline); a partial
// line waits for the rest or for Flush.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.buf = append(w.buf, p...)
			for len(w.buf) >= maxLine {
				w.emit(w.buf[:maxLine])
				w.buf = append(w.buf[:0], w.buf[maxLine:]...)
			}
			break
		}
		line := p[:i]
		if len(w.buf) > 0 {
			line = append(w.buf, line...)
		}
		for len(line) > maxLine {
			w.emit(line[:maxLine])
			line = line[maxLine:]
		}
		w.emit(line)
		w.buf = w.buf[:0]
		p = p[i+1:]
	}
	return n, nil
}

// Flush emits a pending partial line.
func (w *Writer) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = w.buf[:0]
	}
}

func (w *Writer) emit(line []byte) {
	w.c.Emit(LogEnvelope(w.src, bytes.TrimSuffix(line, []byte("\r")), w.stderr, wallclock.Now()))
}

// AppSource is the executor's LogConfig.GetSourceNameAndTagsForLogging: the
// resolved metric_tags, with source_id defaulting to the log guid and
// instance_id to the index, and the source type defaulting to "LOG".
func AppSource(metricTags map[string]string, logGuid string, index int, sourceType string) Source {
	tags := maps.Clone(metricTags)
	if tags == nil {
		tags = map[string]string{}
	}
	if _, ok := tags["source_id"]; !ok {
		tags["source_id"] = logGuid
	}
	if _, ok := tags["instance_id"]; !ok {
		tags["instance_id"] = strconv.Itoa(index)
	}
	if sourceType == "" {
		sourceType = "LOG"
	}
	return Source{Tags: tags, SourceType: sourceType}
}
