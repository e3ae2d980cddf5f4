package daemon

import (
	"errors"
	"fmt"
	"io"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/pki"
	"github.com/diego-go/diego/src/rep/loggregator"
	"github.com/diego-go/diego/src/rep/lograte"
)

// LoggregatorSettings turn on sending app logs to a Loggregator agent (the
// reference rep's loggregator block). Empty AgentAddress: off.
type LoggregatorSettings struct {
	// AgentAddress is the agent's gRPC ingress, host:port (localhost:3458 on a BOSH cell).
	AgentAddress string `json:"agent_address,omitempty"`
	CAFile       string `json:"ca_file,omitempty"`
	CertFile     string `json:"cert_file,omitempty"`
	KeyFile      string `json:"key_file,omitempty"`
	// BufferSize bounds the envelopes waiting; beyond it lines are dropped (default 10000).
	BufferSize int `json:"buffer_size,omitempty"`
	// BatchSize and BatchInterval: an envelope waits at most BatchInterval
	// (default 1s) for BatchSize (default 100) others.
	BatchSize     int      `json:"batch_size,omitempty"`
	BatchInterval Duration `json:"batch_interval,omitempty"`
}

func (s LoggregatorSettings) validate() []error {
	if s.AgentAddress == "" {
		return nil
	}
	var errs []error
	if s.CAFile == "" || s.CertFile == "" || s.KeyFile == "" {
		errs = append(errs, errors.New("loggregator.agent_address needs loggregator ca_file, cert_file and key_file (mutual TLS)"))
	}
	if s.BufferSize < 0 || s.BatchSize < 0 || s.BatchInterval < 0 {
		errs = append(errs, errors.New("loggregator buffer_size, batch_size and batch_interval must not be negative"))
	}
	return errs
}

// startLoggregator makes the client when the settings name an agent.
func (d *Daemon) startLoggregator() error {
	s := d.cfg.Loggregator
	if s.AgentAddress == "" {
		return nil
	}
	tlsCfg, err := pki.ClientTLSConfig(s.CAFile, s.CertFile, s.KeyFile)
	if err != nil {
		return fmt.Errorf("loggregator TLS: %w", err)
	}
	d.loggregator, err = loggregator.New(loggregator.Config{
		Address: s.AgentAddress, TLS: tlsCfg, BufferSize: s.BufferSize, BatchSize: s.BatchSize,
		BatchInterval: time.Duration(s.BatchInterval), Logger: d.log,
	})
	return err
}

func (d *Daemon) closeLoggregator() {
	if d.loggregator != nil {
		_ = d.loggregator.Close()
	}
}

// withLoggregator puts the container's Loggregator writers beside logs'
// (stdout as OUT, stderr as ERR) and returns what flushes them at the end.
// Without an agent it changes nothing.
func (d *Daemon) withLoggregator(logs *lograte.Streams, metricTags map[string]*models.MetricTagValue, logGuid string, index int32, instanceGuid, sourceType string) func() {
	if d.loggregator == nil {
		return func() {}
	}
	tags, err := models.ConvertMetricTags(metricTags, map[models.MetricTagValue_DynamicValue]any{
		models.MetricTagDynamicValueIndex: index, models.MetricTagDynamicValueInstanceGuid: instanceGuid,
	})
	if err != nil {
		d.log.Warn("loggregator: metric_tags; sending without them", "error", err)
	}
	src := loggregator.AppSource(tags, logGuid, int(index), sourceType)
	out, errw := d.loggregator.Writer(src, false), d.loggregator.Writer(src, true)
	logs.Stdout, logs.Stderr = io.MultiWriter(logs.Stdout, out), io.MultiWriter(logs.Stderr, errw)
	return func() { out.Flush(); errw.Flush() }
}

// LoggregatorDropped is how many envelopes were dropped (0 without an agent).
func (d *Daemon) LoggregatorDropped() uint64 {
	if d.loggregator == nil {
		return 0
	}
	return d.loggregator.Dropped()
}
