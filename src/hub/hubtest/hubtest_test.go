package hubtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestPost(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get(ActionHeader) != "1" {
			w.WriteHeader(http.StatusForbidden)
		}
		w.Write(append([]byte(r.URL.Path+" "), b...))
	}))
	defer srv.Close()
	if code, body := Post(t, srv.URL+"/a", `{"confirm":true}`, true); code != http.StatusOK || body != `/a {"confirm":true}` {
		t.Errorf("with the header: %d %q", code, body)
	}
	if code, _ := Post(t, srv.URL+"/a", "", false); code != http.StatusForbidden {
		t.Errorf("without the header: %d, want it not sent", code)
	}
}
