package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/hub/hubtest"
	"github.com/diego-go/diego/src/hub/view"
)

// input is a cluster of apps × per instances over cells cells.
func input(apps, per, cells int) view.Input {
	in := view.Input{Now: time.Unix(1700000000, 0)}
	for c := 0; c < cells; c++ {
		in.Presences = append(in.Presences, &models.CellPresence{CellId: fmt.Sprintf("cell-%d", c), Zone: fmt.Sprintf("z%d", c%3+1)})
	}
	for a := 0; a < apps; a++ {
		pg := fmt.Sprintf("app-%05d", a)
		in.Desired = append(in.Desired, &models.DesiredLRP{ProcessGuid: pg, Domain: "cf-apps", Instances: int32(per), MemoryMb: 256})
		for i := 0; i < per; i++ {
			lrp := &models.ActualLRP{ActualLRPKey: models.NewActualLRPKey(pg, int32(i), "cf-apps"), State: models.ActualLRPStateRunning,
				ActualLRPInstanceKey: models.NewActualLRPInstanceKey(fmt.Sprintf("%s-%d", pg, i), fmt.Sprintf("cell-%d", (a*per+i)%cells))}
			in.Actual = append(in.Actual, lrp)
		}
	}
	return in
}

func newTestHub(t testing.TB, o Options) (*Hub, *httptest.Server) {
	h := New(o)
	ui := fstest.MapFS{"index.html": {Data: []byte("<html>hub ui</html>")}, "assets/app.js": {Data: []byte("js")}}
	srv := httptest.NewServer(h.Handler(ui, true))
	t.Cleanup(srv.Close)
	return h, srv
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v in %s", url, err, b)
		}
	}
	return resp.StatusCode
}

func TestListsPaginateAndFilter(t *testing.T) {
	h, srv := newTestHub(t, Options{})
	h.SetInput(input(120, 2, 4))
	var page view.Page[view.App]
	if code := getJSON(t, srv.URL+"/api/apps?page=3&per_page=50", &page); code != 200 || page.Total != 120 || len(page.Items) != 20 || page.Items[0].ProcessGuid != "app-00100" || page.Items[0].Running != 2 {
		t.Errorf("apps page 3: HTTP %d %+v", code, page)
	}
	if getJSON(t, srv.URL+"/api/apps?q=app-0011", &page); page.Total != 10 {
		t.Errorf("apps q=app-0011: total %d, want 10", page.Total)
	}
	var e map[string]string
	for _, q := range []string{"per_page=501", "page=0", "page=x"} {
		if code := getJSON(t, srv.URL+"/api/apps?"+q, &e); code != 400 || e["error"] == "" {
			t.Errorf("apps?%s: HTTP %d %v, want 400 with an error", q, code, e)
		}
	}
	var cells struct {
		Zones []view.Zone `json:"zones"`
		view.Page[view.Cell]
	}
	if getJSON(t, srv.URL+"/api/cells?zone=z1", &cells); cells.Total != 2 || len(cells.Zones) != 3 || cells.Items[0].Instances != 60 {
		t.Errorf("cells zone z1: %+v", cells)
	}
	var app struct {
		App       view.App        `json:"app"`
		Instances []view.Instance `json:"instances"`
		Events    []view.Item     `json:"events"`
	}
	if code := getJSON(t, srv.URL+"/api/apps/app-00007", &app); code != 200 || app.App.Instances != 2 || len(app.Instances) != 2 || app.Events == nil {
		t.Errorf("one app: HTTP %d %+v", code, app)
	}
	if code := getJSON(t, srv.URL+"/api/apps/nope", &e); code != 404 {
		t.Errorf("unknown app: HTTP %d", code)
	}
	var ov view.Overview
	if getJSON(t, srv.URL+"/api/overview", &ov); ov.Apps != 120 || ov.Instances.Running != 240 || ov.Cells.Total != 4 {
		t.Errorf("overview = %+v", ov)
	}
}

func TestUIFallsBackToIndex(t *testing.T) {
	_, srv := newTestHub(t, Options{})
	for path, want := range map[string]string{"/": "<html>hub ui</html>", "/apps/web": "<html>hub ui</html>", "/assets/app.js": "js"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != want {
			t.Errorf("GET %s: HTTP %d %q, want %q", path, resp.StatusCode, b, want)
		}
	}
}

// post is hubtest.Post with the answer decoded.
func post(t *testing.T, url, body string, header bool) (int, map[string]any) {
	t.Helper()
	code, answer := hubtest.Post(t, url, body, header)
	var v map[string]any
	_ = json.Unmarshal([]byte(answer), &v)
	return code, v
}

func TestActionsNeedTheHeaderAndAConfirmation(t *testing.T) {
	audit := &strings.Builder{}
	_, srv := newTestHub(t, Options{Audit: audit, CellLocalURLs: map[string]string{}})
	for _, path := range []string{"/api/apps/web/scale", "/api/apps/web/instances/0/retire", "/api/cells/cell-1/drain", "/api/tasks/t/cancel"} {
		if code, v := post(t, srv.URL+path, `{"confirm":true,"instances":1}`, false); code != 403 || !strings.Contains(fmt.Sprint(v["error"]), "X-Hub-Action: 1") {
			t.Errorf("%s without the header: HTTP %d %v, want 403", path, code, v)
		}
		for _, body := range []string{`{}`, `{"confirm":false}`, ``} {
			if code, v := post(t, srv.URL+path, body, true); code != 400 || v["error"] != `confirm the action: send {"confirm": true}` {
				t.Errorf("%s with %q: HTTP %d %v, want 400", path, body, code, v)
			}
		}
	}
	if code, v := post(t, srv.URL+"/api/apps/web/scale", `{"confirm":true}`, true); code != 400 || !strings.Contains(fmt.Sprint(v["error"]), "how many instances") {
		t.Errorf("scale without instances: HTTP %d %v", code, v)
	}
	if code, v := post(t, srv.URL+"/api/cells/cell-1/drain", `{"confirm":true}`, true); code != 404 || !strings.Contains(fmt.Sprint(v["error"]), "cell_local_urls") {
		t.Errorf("drain of a cell without a local URL: HTTP %d %v", code, v)
	}
	if !strings.Contains(audit.String(), `"who":"local"`) {
		t.Errorf("audit = %q, want the refused drain logged by local", audit.String())
	}
}

func TestDrainPostsEvacuate(t *testing.T) {
	got := make(chan string, 1)
	rep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Method + " " + r.URL.Path
		w.WriteHeader(http.StatusAccepted)
	}))
	defer rep.Close()
	h, srv := newTestHub(t, Options{HTTP: rep.Client(), CellLocalURLs: map[string]string{"cell-1": rep.URL}})
	if code, v := post(t, srv.URL+"/api/cells/cell-1/drain", `{"confirm":true}`, true); code != 200 || v["ok"] != true {
		t.Fatalf("drain: HTTP %d %v", code, v)
	}
	if r := <-got; r != "POST /evacuate" {
		t.Errorf("the rep got %s", r)
	}
	if items := h.Timeline().List(view.Filter{Kind: view.KindAction}); len(items) != 1 || items[0].CellID != "cell-1" || !strings.HasPrefix(items[0].Message, "local: drain") {
		t.Errorf("timeline = %+v, want the action", items)
	}
}

func TestStreamDeliversTimelineItems(t *testing.T) {
	h, srv := newTestHub(t, Options{})
	resp, err := http.Get(srv.URL + "/api/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	if line, _ := r.ReadString('\n'); line != ": connected\n" {
		t.Fatalf("first line %q", line)
	}
	if line, _ := r.ReadString('\n'); line != "\n" {
		t.Fatalf("second line %q", line)
	}
	h.addItems([]view.Item{{Kind: view.KindCellLost, CellID: "cell-9", Message: "cell cell-9 lost its presence"}})
	h.rebuild("cells")
	var lines []string
	for len(lines) < 6 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.TrimSuffix(line, "\n"))
	}
	if lines[0] != "event: timeline" || !strings.Contains(lines[1], `"cell_id":"cell-9"`) || lines[3] != "event: changed" || lines[4] != `data: {"what":["cells"]}` {
		t.Errorf("stream = %q", lines)
	}
	h.Close()
	if _, err := io.ReadAll(r); err != nil {
		t.Errorf("after Close: %v, want the stream ended", err)
	}
}

func TestEventsAndLogs(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "web"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "web", "1.log"), []byte("a\nb\nc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, srv := newTestHub(t, Options{LogDir: dir})
	h.addItems([]view.Item{{Kind: view.KindInstanceStarted, ProcessGuid: "web", Message: "web/0 is running"}, {Kind: view.KindCellLost, CellID: "c1", Message: "lost"}})
	var ev struct{ Items []view.Item }
	if getJSON(t, srv.URL+"/api/events?kind=cell_lost", &ev); len(ev.Items) != 1 || ev.Items[0].CellID != "c1" {
		t.Errorf("events kind=cell_lost: %+v", ev)
	}
	if getJSON(t, srv.URL+"/api/events?process_guid=web&limit=5", &ev); len(ev.Items) != 1 {
		t.Errorf("events process_guid=web: %+v", ev)
	}
	var logs struct{ Lines []string }
	if code := getJSON(t, srv.URL+"/api/apps/web/logs?index=1&lines=2", &logs); code != 200 || strings.Join(logs.Lines, ",") != "b,c" {
		t.Errorf("logs: HTTP %d %v", code, logs)
	}
	var e map[string]string
	for q, want := range map[string]int{"/api/apps/web/logs?index=0": 404, "/api/apps/web/logs?index=-1": 400, "/api/apps/..%2F..%2Fetc/logs": 400} {
		if code := getJSON(t, srv.URL+q, &e); code != want {
			t.Errorf("%s: HTTP %d %v, want %d", q, code, e, want)
		}
	}
	_, noDir := newTestHub(t, Options{})
	if code := getJSON(t, noDir.URL+"/api/apps/web/logs", &e); code != 404 || !strings.Contains(e["error"], "log_dir") {
		t.Errorf("logs without log_dir: HTTP %d %v", code, e)
	}
}
