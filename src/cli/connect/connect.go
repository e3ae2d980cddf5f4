// Package connect resolves where the diego CLI connects: command-line flags,
// then environment variables, then the target file written by `diego up`.
package connect

import (
	"errors"
	"fmt"
	"strings"

	"github.com/diego-go/diego/src/target"
)

// Settings are the resolved connection settings. Field names match the
// reference operator tool's flags (cfdot).
type Settings struct {
	Target string // --target / DIEGO_TARGET

	BBSURL, BBSCACert, BBSCert, BBSKey string

	LocketAddress, LocketCACert, LocketCert, LocketKey string

	LogDir string

	// File is the target file Target names, as Resolve read it (zero
	// without one): commands take their other addresses from it.
	File target.File
}

// Setting describes one field: its flag, environment variable and key in
// the target file.
type Setting struct {
	Flag, Env, Key, Usage string
	Field                 func(*Settings) *string
}

// All lists every setting in flag order.
var All = []Setting{
	{"bbs-url", "BBS_URL", "bbs_url", "URL of the BBS (https://host:port)",
		func(s *Settings) *string { return &s.BBSURL }},
	{"bbs-ca-cert-file", "BBS_CA_CERT_FILE", "ca_cert", "CA certificate the BBS server certificate chains to",
		func(s *Settings) *string { return &s.BBSCACert }},
	{"bbs-cert-file", "BBS_CERT_FILE", "client_cert", "client certificate for the BBS (and the reps)",
		func(s *Settings) *string { return &s.BBSCert }},
	{"bbs-key-file", "BBS_KEY_FILE", "client_key", "client key for the BBS (and the reps)",
		func(s *Settings) *string { return &s.BBSKey }},
	{"locket-api-location", "LOCKET_API_LOCATION", "locket_address", "Locket address (host:port)",
		func(s *Settings) *string { return &s.LocketAddress }},
	{"locket-ca-cert-file", "LOCKET_CA_CERT_FILE", "ca_cert", "CA certificate the Locket server certificate chains to",
		func(s *Settings) *string { return &s.LocketCACert }},
	{"locket-client-cert-file", "LOCKET_CLIENT_CERT_FILE", "client_cert", "client certificate for Locket",
		func(s *Settings) *string { return &s.LocketCert }},
	{"locket-client-key-file", "LOCKET_CLIENT_KEY_FILE", "client_key", "client key for Locket",
		func(s *Settings) *string { return &s.LocketKey }},
	{"log-dir", "DIEGO_LOG_DIR", "log_dir", "directory of container logs (<dir>/<process_guid>/<index>.log)",
		func(s *Settings) *string { return &s.LogDir }},
}

// Resolve fills every empty field of s from getenv, then from the target
// file (s.Target, or DIEGO_TARGET). Fields already set (from flags) win.
func (s *Settings) Resolve(getenv func(string) string) error {
	if s.Target == "" {
		s.Target = getenv("DIEGO_TARGET")
	}
	s.fill(func(st Setting) string { return getenv(st.Env) })
	if s.Target == "" {
		return nil
	}
	f, err := target.Load(s.Target)
	if err != nil {
		return err
	}
	s.File = f
	byKey := fileSettings(f)
	s.fill(func(st Setting) string { return byKey[st.Key] })
	return nil
}

// fill sets every empty field of s to its setting's value.
func (s *Settings) fill(value func(Setting) string) {
	for _, st := range All {
		if p := st.Field(s); *p == "" {
			*p = value(st)
		}
	}
}

// fileSettings are the target file's connection settings by key.
func fileSettings(f target.File) map[string]string {
	return map[string]string{"bbs_url": f.BBSURL, "locket_address": f.LocketAddress,
		"ca_cert": f.CACert, "client_cert": f.ClientCert, "client_key": f.ClientKey, "log_dir": f.LogDir}
}

// ErrMissing reports connection settings that are needed but not set.
var ErrMissing = errors.New("missing connection settings")

// CheckBBS reports which BBS settings are missing, naming the flag, the
// environment variable and the target file as ways to set them.
func (s *Settings) CheckBBS() error {
	if s.BBSURL == "" {
		return missing(s, "bbs-url")
	}
	if !strings.HasPrefix(s.BBSURL, "https://") {
		return nil // plain HTTP needs no certificates
	}
	return missing(s, "bbs-ca-cert-file", "bbs-cert-file", "bbs-key-file")
}

// CheckLocket reports which Locket settings are missing.
func (s *Settings) CheckLocket() error {
	return missing(s, "locket-api-location", "locket-ca-cert-file", "locket-client-cert-file", "locket-client-key-file")
}

func missing(s *Settings, flags ...string) error {
	var names []string
	for _, name := range flags {
		for _, st := range All {
			if st.Flag == name && *st.Field(s) == "" {
				names = append(names, fmt.Sprintf("--%s (or %s)", st.Flag, st.Env))
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	return fmt.Errorf("%w: set %s, or point --target (or DIEGO_TARGET) at a target file written by `diego up`", ErrMissing, strings.Join(names, ", "))
}
