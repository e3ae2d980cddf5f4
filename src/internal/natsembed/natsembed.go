// Package natsembed runs a NATS server inside this process: the one
// `diego up` embeds, and the tests' (natstest).
package natsembed

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ErrNotReady says the server did not accept connections in time.
var ErrNotReady = errors.New("not accepting connections")

// Start starts a server with opts and returns once it accepts connections,
// or fails after within (the server then shut down).
func Start(opts *server.Options, within time.Duration) (*server.Server, error) {
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, err
	}
	go s.Start()
	if !s.ReadyForConnections(within) {
		s.Shutdown()
		return nil, fmt.Errorf("NATS server on %s:%d: %w within %s", opts.Host, opts.Port, ErrNotReady, within)
	}
	return s, nil
}
