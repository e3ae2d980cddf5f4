package bbsaddr

import (
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8889":                       "https://127.0.0.1:8889",
		"https://bbs.service.cf.internal:8889": "https://bbs.service.cf.internal:8889",
	} {
		if got, err := URL(in); err != nil || got != want {
			t.Errorf("URL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"http://127.0.0.1:8889", "https://", "%zz"} {
		if _, err := URL(bad); err == nil || !strings.Contains(err.Error(), "must be host:port or an https URL") {
			t.Errorf("URL(%q): %v", bad, err)
		}
	}
}
