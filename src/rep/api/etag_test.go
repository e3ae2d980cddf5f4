package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/rep/cell"
)

// getState is GET /state with If-None-Match set to match (unless empty):
// the status, the ETag and the body.
func (f *fixture) getState(t *testing.T, match string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+"/state", nil)
	if err != nil {
		t.Fatal(err)
	}
	if match != "" {
		req.Header.Set("If-None-Match", match)
	}
	resp, err := f.raw.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK && resp.ContentLength != int64(len(body)) {
		t.Errorf("GET /state: Content-Length %d for a body of %d bytes", resp.ContentLength, len(body))
	}
	return resp.StatusCode, resp.Header.Get("ETag"), string(body)
}

// TestStateETag: /state names its ledger generation in an ETag, answers a
// request naming the current one 304 with no body, and a request naming
// any other (or none, as the reference client sends) with the whole state.
func TestStateETag(t *testing.T) {
	f := newFixture(t)
	code, etag, body := f.getState(t, "")
	if code != http.StatusOK || etag == "" || body == "" {
		t.Fatalf("first GET /state: %d, ETag %q, %d bytes", code, etag, len(body))
	}
	for _, match := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		if code, got, body := f.getState(t, match); code != http.StatusNotModified || got != etag || body != "" {
			t.Errorf("If-None-Match %s on an unchanged ledger: %d, ETag %q, body %q; want 304, %q, no body", match, code, got, body, etag)
		}
	}
	if code, _, body := f.getState(t, `"someone-else-7"`); code != http.StatusOK || body == "" {
		t.Errorf("If-None-Match naming another tag: %d with %d bytes, want 200 with the state", code, len(body))
	}

	f.ledger.Reserve(rep.Work{LRPs: []rep.LRP{lrp("a", 256)}}, t0)
	code, changed, body := f.getState(t, etag)
	if code != http.StatusOK || changed == etag || changed == "" || body == "" {
		t.Fatalf("after a reservation, If-None-Match the old tag: %d, ETag %q (was %q), %d bytes; want 200 and a new tag", code, changed, etag, len(body))
	}
	if err := f.ledger.Transition(cell.KindLRP, "a", cell.Running); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := f.getState(t, changed); code != http.StatusOK {
		t.Errorf("after a transition, If-None-Match the last tag: %d, want 200", code)
	}
	// The reference client, which sends no If-None-Match, still decodes the whole state.
	got, err := f.client.State(lager.NewLogger("test"))
	if err != nil || len(got.LRPs) != 1 || got.LRPs[0].State != "RUNNING" {
		t.Errorf("reference client after the changes: %+v, %v", got, err)
	}

	// Another handler over the same ledger (a restarted rep) tags the same
	// generation differently: its state may not be the one cached.
	other, err := NewHandler(Config{Ledger: f.ledger, Stopper: f.stopper})
	if err != nil {
		t.Fatal(err)
	}
	_, now, _ := f.getState(t, "")
	rec := httptest.NewRecorder()
	req, _ := http.NewRequest(http.MethodGet, "/state", nil)
	req.Header.Set("If-None-Match", now)
	other.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Header().Get("ETag") == now {
		t.Errorf("a second handler answered %d with ETag %q for the first's tag %q; want 200 and a tag of its own", rec.Code, rec.Header().Get("ETag"), now)
	}
}
