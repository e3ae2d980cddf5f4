package releasetest

import (
	"strings"
	"testing"
)

// TestBBSReencryptPacingProperties: diego.bbs.reencrypt.batch_size and
// batch_pause_in_milliseconds render into the BBS config's
// reencrypt_batch_size and reencrypt_batch_pause (0 and "0ms" unset: the
// unpaced default), which the bbs accepts; a negative batch size renders but
// -check-config refuses it by name.
func TestBBSReencryptPacingProperties(t *testing.T) {
	bins := binaries(t)
	for _, tc := range []struct {
		name        string
		props       map[string]any
		size, pause any
		refused     string
	}{
		{name: "unset", size: float64(0), pause: "0ms"},
		{name: "set", props: map[string]any{"batch_size": 2, "batch_pause_in_milliseconds": 1500}, size: float64(2), pause: "1500ms"},
		{name: "negative", props: map[string]any{"batch_size": -1}, size: float64(-1), pause: "0ms", refused: "reencrypt_batch_size -1 must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ops []op
			if tc.props != nil {
				ops = append(ops, replace(limitsProp("api", "bbs", "reencrypt"), tc.props))
			}
			rj := renderLimitJobs(t, ops...)["bbs"]
			if rj.err != nil {
				t.Fatalf("rendering: %v", rj.err)
			}
			c := renderedConfig(t, rj)
			if c["reencrypt_batch_size"] != tc.size || c["reencrypt_batch_pause"] != tc.pause {
				t.Errorf("reencrypt_batch_size %v, reencrypt_batch_pause %v; want %v, %v", c["reencrypt_batch_size"], c["reencrypt_batch_pause"], tc.size, tc.pause)
			}
			msg, err := checkConfig(t, rj, bins)
			switch {
			case tc.refused == "" && err != nil:
				t.Errorf("bbs -check-config: %v\n%s", err, msg)
			case tc.refused != "" && (err == nil || !strings.Contains(msg, tc.refused)):
				t.Errorf("bbs -check-config: %v\n%s\nwant a refusal naming %q", err, msg, tc.refused)
			}
		})
	}
}
