// Package report is what cfapp (src/internal/ccrecipe/cfapp) sees from
// inside a container, as the JSON it answers GET /report with and writes
// as a task's result; the acceptance suite decodes it. Standard library
// only, so cfapp stays small.
package report

import "time"

// Report is what an instance or task sees from inside.
type Report struct {
	Cwd   string            `json:"cwd"`
	UID   int               `json:"uid"`
	Env   map[string]string `json:"env"`
	Files map[string]File   `json:"files"`
	// Cert is CF_INSTANCE_CERT parsed (with CF_INSTANCE_KEY checked).
	Cert *Cert `json:"cert,omitempty"`
	// CertErr says why Cert is missing.
	CertErr string `json:"cert_error,omitempty"`
	// SystemCerts lists CF_SYSTEM_CERT_PATH.
	SystemCerts []string `json:"system_certs"`
}

// File is one path relative to the working directory.
type File struct {
	Exists bool   `json:"exists"`
	Size   int64  `json:"size"`
	Mode   string `json:"mode"`
	Text   string `json:"text,omitempty"` // a file of at most 200 bytes
}

// Cert is an X.509 certificate as the suite checks it.
type Cert struct {
	CommonName string    `json:"common_name"`
	OUs        []string  `json:"organizational_units"`
	DNSNames   []string  `json:"dns_names"`
	IPs        []string  `json:"ips"`
	NotBefore  time.Time `json:"not_before"`
	NotAfter   time.Time `json:"not_after"`
	KeyMatches bool      `json:"key_matches"`
	Chain      int       `json:"chain"` // certificates in the file
}
