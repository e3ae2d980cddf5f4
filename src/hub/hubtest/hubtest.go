// Package hubtest holds the helpers the Hub's test suites share (its own
// API tests and diego up's).
package hubtest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// ActionHeader is the header (with value "1") the Hub requires on actions,
// its guard against cross-site requests.
const ActionHeader = "X-Hub-Action"

// Post sends an action's POST of body to url, with the action header when
// action is set, and returns the status code and the body of the answer.
func Post(tb testing.TB, url, body string, action bool) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if action {
		req.Header.Set(ActionHeader, "1")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("reading the answer to POST %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}
