package config

import (
	"strings"
	"testing"
	"time"
)

func vaultConfig(dir, source string) string {
	return `{"ca_file":"` + dir + `/ca.crt","server_cert_file":"` + dir + `/server.crt","server_key_file":"` + dir + `/server.key",
	"encryption_key_source": ` + source + `}`
}

func TestVaultKeySourceDefaultsAndValidation(t *testing.T) {
	dir := writeFiles(t)
	c, err := Parse(strings.NewReader(vaultConfig(dir, `{"type":"vault","vault":{"address":"https://vault:8200","token_file":"`+dir+`/ca.crt"}}`)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	v := c.EncryptionKeySource.Vault
	if v.Mount != "secret" || v.Path != "diego/bbs/encryption" || v.AppRole.Mount != "approle" || time.Duration(v.Timeout) != 10*time.Second {
		t.Fatalf("defaults: %+v", v)
	}
	for source, want := range map[string]string{
		`{"type":"etcd"}`: `encryption_key_source.type "etcd" is not supported`,
		`{"type":"vault","vault":{"address":"vault:8200","token":"t"}}`:                                 "must be an http(s) URL",
		`{"type":"vault","vault":{"address":"https://v","token":"t","role_id":"x"}}`:                    "unknown field",
		`{"type":"vault","vault":{"address":"https://v"}}`:                                              "exactly one of token, token_file and approle.role_id",
		`{"type":"vault","vault":{"address":"https://v","token":"t","approle":{"role_id":"r"}}}`:        "exactly one of token, token_file and approle.role_id",
		`{"type":"vault","vault":{"address":"https://v","approle":{"role_id":"r"}}}`:                    "exactly one of secret_id and secret_id_file",
		`{"type":"vault","vault":{"address":"https://v","token_file":"/nonexistent/token"}}`:            "token_file",
		`{"type":"vault","vault":{"address":"https://v","token":"t","ca_cert_file":"/nonexistent/ca"}}`: "ca_cert_file",
		`{"type":"vault","vault":{"address":"https://v","token":"t","timeout":"1ms"}}`:                  "timeout",
		`{"type":"vault","vault":{"address":"https://v","token":"t","path":""}}`:                        "mount and .path",
	} {
		c, err := Parse(strings.NewReader(vaultConfig(dir, source)))
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", source, err, want)
		}
	}
	// with vault, keys in the file would be ignored: refuse them
	c, _ = Parse(strings.NewReader(`{"ca_file":"` + dir + `/ca.crt","server_cert_file":"` + dir + `/server.crt","server_key_file":"` + dir + `/server.key",
	"encryption_keys":{"k1":"x"},"active_key_label":"k1","encryption_key_source":{"type":"vault","vault":{"address":"https://v","token":"t"}}}`))
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "must be empty") {
		t.Fatalf("keys with vault: %v", err)
	}
}
