package cluster

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	repdaemon "github.com/diego-go/diego/src/rep/daemon"
)

// TestLoggregatorInRepConfig: the loggregator options become every rep's
// loggregator block, with absolute certificate paths, and the rep loads it;
// without an address the reps have none.
func TestLoggregatorInRepConfig(t *testing.T) {
	l := testLayout(t)
	if got := l.repConfig(0).Loggregator; got != (repdaemon.LoggregatorSettings{}) {
		t.Fatalf("loggregator block without options: %+v", got)
	}
	l.opts.Loggregator = LoggregatorOptions{Address: "127.0.0.1:3458", CAFile: l.certs.CACert,
		CertFile: l.certs.ClientCert, KeyFile: l.certs.ClientKey, MetricsInterval: 5 * time.Second}
	if err := l.opts.Validate(); err != nil && strings.Contains(err.Error(), "loggregator") {
		t.Fatalf("Validate: %v", err)
	}
	for i := range 2 {
		rep := writeAndLoad(t, l, fmt.Sprintf("rep-cell-%d", i+1), l.repConfig(i), repdaemon.Load)
		lg := rep.Loggregator
		if lg.AgentAddress != "127.0.0.1:3458" || lg.CAFile != l.certs.CACert || lg.CertFile != l.certs.ClientCert ||
			lg.KeyFile != l.certs.ClientKey || time.Duration(lg.MetricsInterval) != 5*time.Second || !filepath.IsAbs(lg.CAFile) {
			t.Errorf("cell %d loggregator block %+v", i+1, lg)
		}
	}
}

func TestLoggregatorOptionsValidate(t *testing.T) {
	l := testLayout(t)
	for name, tc := range map[string]struct {
		o    LoggregatorOptions
		want string
	}{
		"off":             {LoggregatorOptions{}, ""},
		"on":              {LoggregatorOptions{Address: "127.0.0.1:3458", CAFile: l.certs.CACert, CertFile: l.certs.ClientCert, KeyFile: l.certs.ClientKey}, ""},
		"certs alone":     {LoggregatorOptions{CAFile: l.certs.CACert}, "need --loggregator-address"},
		"no port":         {LoggregatorOptions{Address: "localhost", CAFile: l.certs.CACert, CertFile: l.certs.ClientCert, KeyFile: l.certs.ClientKey}, "--loggregator-address \"localhost\""},
		"no key":          {LoggregatorOptions{Address: "127.0.0.1:3458", CAFile: l.certs.CACert, CertFile: l.certs.ClientCert}, "--loggregator-key is required"},
		"missing ca file": {LoggregatorOptions{Address: "127.0.0.1:3458", CAFile: "/nonexistent/ca.crt", CertFile: l.certs.ClientCert, KeyFile: l.certs.ClientKey}, "--loggregator-ca: stat /nonexistent/ca.crt"},
	} {
		err := fmt.Sprint(tc.o.validate())
		if tc.want == "" && err != "[]" || tc.want != "" && !strings.Contains(err, tc.want) {
			t.Errorf("%s: validate() = %s, want %q", name, err, tc.want)
		}
	}
}
