// Package wallclock is the wall clock a component reads for what other
// hosts compare with theirs: certificate validity (its own certificates'
// and its peers'), and the timestamps it publishes. It is the system clock,
// moved by DIEGO_FAULT_CLOCK_OFFSET when that is set.
//
// The variable exists for the chaos suite's clock-skew scenario: Go reads
// the clock through the vDSO, which libfaketime does not reach, and time
// namespaces move only the monotonic clocks, so one process's wall clock
// cannot be skewed from outside it. Durations and timers use the monotonic
// clock and are not moved, as a real host's skew does not move them. Never
// set it on a real deployment.
package wallclock

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// EnvOffset names the variable: a Go duration such as "30s" or "-30s".
const EnvOffset = "DIEGO_FAULT_CLOCK_OFFSET"

// MaxOffset bounds the offset: enough for any skew worth testing, short of
// moving every certificate out of its validity.
const MaxOffset = 24 * time.Hour

var (
	once   sync.Once
	offset time.Duration
	err    error
)

func load() {
	offset, err = Parse(os.Getenv(EnvOffset))
}

// Parse reads an offset as the variable gives it ("" is none).
func Parse(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, perr := time.ParseDuration(s)
	if perr != nil {
		return 0, fmt.Errorf("%s=%q: not a duration such as 30s or -30s", EnvOffset, s)
	}
	if d > MaxOffset || d < -MaxOffset {
		return 0, fmt.Errorf("%s=%q: more than %s either way", EnvOffset, s, MaxOffset)
	}
	return d, nil
}

// Check returns the offset in effect, or why the variable is refused; a
// component calls it at start and refuses to run on an error (Now ignores
// a refused offset).
func Check() (time.Duration, error) {
	once.Do(load)
	return offset, err
}

// Now is the system's wall clock moved by the offset.
func Now() time.Time {
	once.Do(load)
	if err != nil || offset == 0 {
		return time.Now()
	}
	return time.Now().Add(offset)
}
