package health

import (
	"testing"
	"time"
)

// TestWording holds our failure texts to the reference's, read from
// cloudfoundry/healthcheck healthcheck.go (check failures) and
// cmd/healthcheck/main.go (start-up, liveness and readiness modes),
// executor depot/steps/health_check_step.go (crash reasons and log lines),
// depot/steps/output_wrapper_step.go and readiness_health_check_step.go.
func TestWording(t *testing.T) {
	tests := []struct{ got, want string }{
		{TCPFailure("10.255.1.7:8080", "dial tcp 10.255.1.7:8080: connect: connection refused"),
			"failed to make TCP connection to 10.255.1.7:8080: dial tcp 10.255.1.7:8080: connect: connection refused"},
		{TCPFailure("10.255.1.7:8080", TimedOut(time.Second)),
			"failed to make TCP connection to 10.255.1.7:8080: timed out after 1.00 seconds"},
		{HTTPFailure("/ping", "8080", "received status code 500 in 3ms"),
			"failed to make HTTP request to '/ping' on port 8080: received status code 500 in 3ms"},
		{HTTPFailure("/ping", "8080", TimedOut(1500*time.Millisecond)),
			"failed to make HTTP request to '/ping' on port 8080: timed out after 1.50 seconds"},
		{HTTPFailure("/", "8080", "connection refused"),
			"failed to make HTTP request to '/' on port 8080: connection refused"},
		{StartupTimedOut(time.Minute, 61, "failed to make HTTP request to '/' on port 8080: connection refused"),
			"Timed out after 1m0s (61 attempts) waiting for startup check to succeed: failed to make HTTP request to '/' on port 8080: connection refused"},
		{NeverHealthy(60*time.Second+12345*time.Microsecond, "Timed out after 1m0s (61 attempts) waiting for startup check to succeed: x"),
			"Instance never healthy after 1m0.012s: Timed out after 1m0s (61 attempts) waiting for startup check to succeed: x"},
		{BecameUnhealthy(LivenessFailed("failed to make HTTP request to '/ping' on port 8080: connection refused")),
			"Instance became unhealthy: Liveness check unsuccessful: failed to make HTTP request to '/ping' on port 8080: connection refused"},
		{livenessFailedAmong("x", 1), "Liveness check unsuccessful: x"},
		{livenessFailedAmong("x", 3), "Liveness check unsuccessful: x; Failed to invoke process: cancelled; Failed to invoke process: cancelled"},
		{ReadinessFailed("x"), "Readiness check unsuccessful: x"},
		{LogStarting, "Starting health monitoring of container"},
		{LogHealthy, "Container became healthy"},
		{LogUnhealthy, "Container became unhealthy"},
		{LogStartupFailed, "Failed after %s: startup health check never passed."},
		{LogReadinessStarting, "Starting readiness health monitoring of container"},
		{LogReady, "Container passed the readiness health check. Container marked ready and added to route pool."},
		{LogNotReady, "Container failed the readiness health check. Container marked not ready and removed from route pool."},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got  %q\nwant %q", tt.got, tt.want)
		}
	}
}
