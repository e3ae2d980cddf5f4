package interop_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/pki"
)

// mtlsClient is an HTTP client trusting certs' CA and presenting its client
// certificate, or its admin certificate when admin is set.
func mtlsClient(t *testing.T, certs *pki.Bundle, admin bool) *http.Client {
	t.Helper()
	cert, key := certs.ClientCert, certs.ClientKey
	if admin {
		cert, key = certs.AdminCert, certs.AdminKey
	}
	cfg, err := pki.ClientTLSConfig(certs.CACert, cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
}

// call sends a method request with body (a protobuf message, or nil) to url
// through c and returns the response with its body read.
func call(t *testing.T, c *http.Client, method, url string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-protobuf")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// adminCall calls an admin endpoint (GET for /status, POST otherwise),
// fails unless it answers want, and returns the body.
func adminCall(t *testing.T, c *http.Client, url string, want int) string {
	t.Helper()
	method := http.MethodPost
	if strings.HasSuffix(url, "/status") {
		method = http.MethodGet
	}
	resp, b := call(t, c, method, url, nil)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s (want %d)", method, url, resp.StatusCode, b, want)
	}
	return string(b)
}
