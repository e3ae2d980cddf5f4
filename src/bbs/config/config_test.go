package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFiles(t *testing.T) (dir string) {
	dir = t.TempDir()
	for _, f := range []string{"ca.crt", "server.crt", "server.key"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func minimal(dir string) string {
	return `{"ca_file":"` + dir + `/ca.crt","server_cert_file":"` + dir + `/server.crt","server_key_file":"` + dir + `/server.key",
	"encryption_keys":{"k1":"secret"},"active_key_label":"k1"}`
}

func TestDefaultsFilled(t *testing.T) {
	dir := writeFiles(t)
	c, err := Parse(strings.NewReader(minimal(dir)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.ListenAddress != "0.0.0.0:8889" || c.DatabaseDriver != "sqlite" || c.RepClientCertFile != c.CertFile {
		t.Fatalf("defaults not applied: %+v", c)
	}
}

func TestUnknownFieldRejected(t *testing.T) {
	_, err := Parse(strings.NewReader(`{"listen_adress":"x"}`))
	if err == nil || !strings.Contains(err.Error(), "listen_adress") {
		t.Fatalf("err = %v", err)
	}
}

func TestValidateNamesEveryProblem(t *testing.T) {
	c := DefaultConfig()
	c.DatabaseDriver = "oracle"
	c.ListenAddress = "nope"
	c.LogLevel = "loud"
	err := c.Validate()
	for _, want := range []string{"listen_address", "ca_file is required", `"oracle" is not supported`, "encryption_keys is required", "log_level"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

func TestActiveLabelMustExist(t *testing.T) {
	dir := writeFiles(t)
	c, _ := Parse(strings.NewReader(strings.Replace(minimal(dir), `"active_key_label":"k1"`, `"active_key_label":"k2"`, 1)))
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `active_key_label "k2"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "none.json")); err == nil || !strings.Contains(err.Error(), "opening config") {
		t.Fatalf("err = %v", err)
	}
}

// max_task_retries 0 is the reference's "no retry" (a task's first rejection
// fails it); only a negative count is wrong.
func TestMaxTaskRetries(t *testing.T) {
	dir := writeFiles(t)
	for retries, ok := range map[string]bool{"0": true, "5": true, "-1": false} {
		c, err := Parse(strings.NewReader(strings.Replace(minimal(dir), `{`, `{"max_task_retries":`+retries+`,`, 1)))
		if err != nil {
			t.Fatal(err)
		}
		err = c.Validate()
		if ok != (err == nil) || !ok && !strings.Contains(err.Error(), "max_task_retries") {
			t.Errorf("max_task_retries %s: %v", retries, err)
		}
	}
	if DefaultConfig().MaxTaskRetries != 3 {
		t.Error("max_task_retries default is not 3")
	}
}

// TestLockRetryIntervalLeavesRoom: the lease is declared lost at ttl - ttl/5
// after the last refresh, so a retry interval at or above that would lose
// the lock between two refreshes; Validate refuses it rather than letting
// the BBS start and flap.
func TestLockRetryIntervalLeavesRoom(t *testing.T) {
	dir := writeFiles(t)
	for fields, ok := range map[string]bool{
		`"lock_ttl":"15s","lock_retry_interval":"5s"`:  true,
		`"lock_ttl":"15s","lock_retry_interval":"11s"`: true,
		`"lock_ttl":"15s","lock_retry_interval":"12s"`: false,
		`"lock_ttl":"15s","lock_retry_interval":"14s"`: false,
	} {
		c, err := Parse(strings.NewReader(strings.Replace(minimal(dir), `{`, `{`+fields+`,`, 1)))
		if err != nil {
			t.Fatal(err)
		}
		err = c.Validate()
		if ok != (err == nil) || !ok && !strings.Contains(err.Error(), "lock_retry_interval") {
			t.Errorf("%s: %v", fields, err)
		}
	}
}

// reencrypt_batch_size and reencrypt_batch_pause default to 0 (the store's
// batches, no pause); negative values are refused by name.
func TestReencryptPacing(t *testing.T) {
	dir := writeFiles(t)
	checkFields(t, dir, map[string]string{
		`"reencrypt_batch_size":0,"reencrypt_batch_pause":"0s"`:   "",
		`"reencrypt_batch_size":2,"reencrypt_batch_pause":"1.5s"`: "",
		`"reencrypt_batch_size":-1`:                               "reencrypt_batch_size -1 must not be negative",
		`"reencrypt_batch_pause":"-1s"`:                           "reencrypt_batch_pause -1s must not be negative",
	})
	c, err := Parse(strings.NewReader(strings.Replace(minimal(dir), `{`, `{"reencrypt_batch_size":2,"reencrypt_batch_pause":"1.5s",`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if p := c.ReencryptPacing(); p.BatchSize != 2 || p.BatchPause != 1500*time.Millisecond {
		t.Errorf("pacing %+v", p)
	}
	if p := DefaultConfig().ReencryptPacing(); p.BatchSize != 0 || p.BatchPause != 0 {
		t.Errorf("default pacing %+v, want none", p)
	}
}

// memory_limit_mb defaults to 0 (no limit) and refuses a negative value by
// name.
func TestMemoryLimit(t *testing.T) {
	if got := DefaultConfig().MemoryLimitMB; got != 0 {
		t.Errorf("default memory_limit_mb = %d, want 0", got)
	}
	checkFields(t, writeFiles(t), map[string]string{
		`"memory_limit_mb":0`:   "",
		`"memory_limit_mb":512`: "",
		`"memory_limit_mb":-1`:  "memory_limit_mb -1 must not be negative",
	})
}

// checkFields validates the minimal config with each set of fields added:
// it must pass where the want is empty, else fail naming it.
func checkFields(t *testing.T, dir string, cases map[string]string) {
	t.Helper()
	for fields, want := range cases {
		c, err := Parse(strings.NewReader(strings.Replace(minimal(dir), `{`, `{`+fields+`,`, 1)))
		if err != nil {
			t.Fatal(err)
		}
		err = c.Validate()
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: err = %v, want %q", fields, err, want)
		}
	}
}
