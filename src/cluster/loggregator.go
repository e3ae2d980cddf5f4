package cluster

// Sending the cells' app logs to a Loggregator agent (diego up
// --loggregator-address, --loggregator-ca, --loggregator-cert,
// --loggregator-key): each rep's loggregator block.

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	repdaemon "github.com/diego-go/diego/src/rep/daemon"
)

// LoggregatorOptions point every rep at a Loggregator agent's gRPC v2
// ingress (host:port) with a client certificate; an empty Address sends
// nothing to Loggregator. The files are PEM: the CA of the agent's server
// certificate, the client certificate and its key.
type LoggregatorOptions struct {
	Address                   string
	CAFile, CertFile, KeyFile string
	// MetricsInterval is how often container metrics are sent (0: the rep's
	// default, 15s).
	MetricsInterval time.Duration
}

// validate reports what is wrong with the options (nothing when off).
func (o LoggregatorOptions) validate() []error {
	if o.Address == "" {
		if o.CAFile != "" || o.CertFile != "" || o.KeyFile != "" {
			return []error{errors.New("--loggregator-ca, --loggregator-cert and --loggregator-key need --loggregator-address (the agent's host:port)")}
		}
		return nil
	}
	var errs []error
	if _, _, err := net.SplitHostPort(o.Address); err != nil {
		errs = append(errs, fmt.Errorf("--loggregator-address %q: want the agent's host:port: %w", o.Address, err))
	}
	for flag, path := range map[string]string{"--loggregator-ca": o.CAFile, "--loggregator-cert": o.CertFile, "--loggregator-key": o.KeyFile} {
		if path == "" {
			errs = append(errs, fmt.Errorf("%s is required with --loggregator-address (the agent takes mutual TLS only)", flag))
		} else if _, err := os.Stat(path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", flag, err))
		}
	}
	if o.MetricsInterval < 0 {
		errs = append(errs, fmt.Errorf("loggregator metrics interval %v must not be negative", o.MetricsInterval))
	}
	return errs
}

// repSettings is the reps' loggregator block, with absolute paths (the
// reps run in their own directories).
func (o LoggregatorOptions) repSettings() repdaemon.LoggregatorSettings {
	if o.Address == "" {
		return repdaemon.LoggregatorSettings{}
	}
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	return repdaemon.LoggregatorSettings{
		AgentAddress: o.Address, CAFile: abs(o.CAFile), CertFile: abs(o.CertFile), KeyFile: abs(o.KeyFile),
		MetricsInterval: repdaemon.Duration(o.MetricsInterval),
	}
}
