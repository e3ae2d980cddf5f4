package convergence

import (
	"errors"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/lifecycle"
)

// Config holds the convergence timings. A zero field means its default.
type Config struct {
	// StaleUnclaimedAfter: an UNCLAIMED instance older than this is auctioned again (30s).
	StaleUnclaimedAfter time.Duration
	// ExpirePendingTaskAfter: a PENDING task older than this (by CreatedAt) fails (30m).
	ExpirePendingTaskAfter time.Duration
	// KickTaskAfter (30s): a PENDING task not updated for this long is auctioned
	// again; a RESOLVING one is demoted to COMPLETED; a COMPLETED one with a
	// callback URL has its callback sent again.
	KickTaskAfter time.Duration
	// ExpireCompletedTaskAfter: a COMPLETED task this long after its first
	// completion is deleted (120s); see TaskDelete for RESOLVING tasks.
	ExpireCompletedTaskAfter time.Duration
	// Restart decides whether a CRASHED instance is due for a restart
	// (default models.NewDefaultRestartCalculator()).
	Restart lifecycle.RestartPolicy
}

// Defaults, as in the reference.
const (
	DefaultStaleUnclaimedAfter      = 30 * time.Second
	DefaultExpirePendingTaskAfter   = 30 * time.Minute
	DefaultKickTaskAfter            = 30 * time.Second
	DefaultExpireCompletedTaskAfter = 120 * time.Second
)

// DefaultConfig is the reference's convergence configuration.
func DefaultConfig() Config {
	return Config{
		StaleUnclaimedAfter:      DefaultStaleUnclaimedAfter,
		ExpirePendingTaskAfter:   DefaultExpirePendingTaskAfter,
		KickTaskAfter:            DefaultKickTaskAfter,
		ExpireCompletedTaskAfter: DefaultExpireCompletedTaskAfter,
		Restart:                  models.NewDefaultRestartCalculator(),
	}
}

// Validate fills zero fields with their defaults and rejects negative durations.
func (c *Config) Validate() error {
	if c.StaleUnclaimedAfter < 0 || c.ExpirePendingTaskAfter < 0 || c.KickTaskAfter < 0 || c.ExpireCompletedTaskAfter < 0 {
		return errors.New("convergence: durations must not be negative")
	}
	c.fill()
	return nil
}

// fill replaces zero or negative fields with defaults.
func (c *Config) fill() {
	d := DefaultConfig()
	if c.StaleUnclaimedAfter <= 0 {
		c.StaleUnclaimedAfter = d.StaleUnclaimedAfter
	}
	if c.ExpirePendingTaskAfter <= 0 {
		c.ExpirePendingTaskAfter = d.ExpirePendingTaskAfter
	}
	if c.KickTaskAfter <= 0 {
		c.KickTaskAfter = d.KickTaskAfter
	}
	if c.ExpireCompletedTaskAfter <= 0 {
		c.ExpireCompletedTaskAfter = d.ExpireCompletedTaskAfter
	}
	if c.Restart == nil {
		c.Restart = d.Restart
	}
}
