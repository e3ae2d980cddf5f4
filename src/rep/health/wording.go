package health

// The reference's wording of health failures, word for word. Two programs
// word them there: the healthcheck binary the executor runs in the
// container for every check_definition check (cloudfoundry/healthcheck,
// healthcheck.go and cmd/healthcheck/main.go), and the executor's health
// check step (executor depot/steps/health_check_step.go, which also words
// the monitor action's failures).

import (
	"fmt"
	"strings"
	"time"
)

// TCPFailure is a failed TCP check of addr ("<ip>:<port>"):
// "failed to make TCP connection to <addr>: <why>".
func TCPFailure(addr, why string) string {
	return fmt.Sprintf("failed to make TCP connection to %s: %s", addr, why)
}

// HTTPFailure is a failed HTTP check of path on port: "failed to make HTTP
// request to '<path>' on port <port>: <why>".
func HTTPFailure(path, port, why string) string {
	return fmt.Sprintf("failed to make HTTP request to '%s' on port %s: %s", path, port, why)
}

// TimedOut is why a check that got no answer within d failed: "timed out
// after 1.00 seconds".
func TimedOut(d time.Duration) string {
	return fmt.Sprintf("timed out after %.2f seconds", d.Seconds())
}

// StartupTimedOut is the healthcheck binary's start-up failure after
// timeout and attempts tries, the last failing with why.
func StartupTimedOut(timeout time.Duration, attempts int, why string) string {
	return fmt.Sprintf("Timed out after %s (%d attempts) waiting for startup check to succeed: %s", timeout, attempts, why)
}

// LivenessFailed is the healthcheck binary's liveness failure.
func LivenessFailed(why string) string { return "Liveness check unsuccessful: " + why }

// ReadinessFailed is the healthcheck binary's readiness failure.
func ReadinessFailed(why string) string { return "Readiness check unsuccessful: " + why }

// cancelledCheck is what the reference reports for each liveness check it
// stopped because another failed first: the check's process, interrupted,
// printed nothing (depot/steps/output_wrapper_step.go).
const cancelledCheck = "Failed to invoke process: cancelled"

// livenessFailedAmong is the liveness failure of one check of n declared:
// the reference runs them codependently, so the others are cancelled and
// each adds its cancellation to the reason.
func livenessFailedAmong(why string, n int) string {
	return LivenessFailed(why) + strings.Repeat("; "+cancelledCheck, max(n-1, 0))
}

// NeverHealthy is the crash reason of an instance whose start-up checks
// failed after elapsed (rounded to the millisecond).
func NeverHealthy(elapsed time.Duration, why string) string {
	return fmt.Sprintf("Instance never healthy after %s: %s", elapsed.Round(time.Millisecond), why)
}

// BecameUnhealthy is the crash reason of an instance whose liveness check
// failed once it was healthy.
func BecameUnhealthy(why string) string { return "Instance became unhealthy: " + why }

// The lines the reference writes to the instance's log (the container's
// log source) about its health.
const (
	LogStarting          = "Starting health monitoring of container"
	LogHealthy           = "Container became healthy"
	LogUnhealthy         = "Container became unhealthy"
	LogStartupFailed     = "Failed after %s: startup health check never passed."
	LogReadinessStarting = "Starting readiness health monitoring of container"
	LogReady             = "Container passed the readiness health check. Container marked ready and added to route pool."
	LogNotReady          = "Container failed the readiness health check. Container marked not ready and removed from route pool."
)
