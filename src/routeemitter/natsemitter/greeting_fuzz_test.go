package natsemitter

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// FuzzRegisterInterval: whatever a router.start or greeting reply holds,
// the interval taken from it is either refused with an error or between
// 1 s and maxRegisterInterval and exactly the seconds asked for: never the
// overflowed value of a huge number of seconds (the seed 20211507185753197
// once became a 512 ns re-registration loop).
func FuzzRegisterInterval(f *testing.F) {
	for _, s := range []string{`{"minimumRegisterIntervalInSeconds":20,"pruneThresholdInSeconds":120}`, `{"minimumRegisterIntervalInSeconds":0}`,
		`{"minimumRegisterIntervalInSeconds":-5}`, `{"minimumRegisterIntervalInSeconds":20211507185753197}`, `{"minimumRegisterIntervalInSeconds":18446744074}`,
		`{"minimumRegisterIntervalInSeconds":1e3}`, `{"minimumRegisterIntervalInSeconds":"20"}`, `{}`, `null`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := registerInterval(data)
		if err != nil {
			if d != 0 || err.Error() == "" {
				t.Fatalf("refused with %v but returned %s", err, d)
			}
			return
		}
		if d < time.Second || d > maxRegisterInterval || d%time.Second != 0 {
			t.Fatalf("interval %s from %q", d, data)
		}
		var g greeting
		if json.Unmarshal(data, &g) != nil || time.Duration(g.MinimumRegisterInterval)*time.Second != d {
			t.Fatalf("interval %s is not the %d seconds asked for in %q", d, g.MinimumRegisterInterval, data)
		}
		if strings.TrimSpace(string(data)) == "" {
			t.Fatal("an empty message gave an interval")
		}
	})
}
