package cluster

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/src/hub/hubtest"
	"github.com/diego-go/diego/src/target"
)

// hubGet decodes GET url into v.
func hubGet(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	return json.Unmarshal(b, v)
}

// hubApp is the part of GET /api/apps/{guid} the test reads.
type hubApp struct {
	App struct {
		Instances, Running int
	} `json:"app"`
	Instances []struct {
		Index        int    `json:"index"`
		InstanceGuid string `json:"instance_guid"`
		State        string `json:"state"`
		CellID       string `json:"cell_id"`
	} `json:"instances"`
}

// TestHub: diego up runs the Hub; its API shows a real LRP's desired and
// running counts, scales it (refusing actions without the header or the
// confirmation), shows a killed cell as missing while its instances move,
// streams timeline items, and shows the components' metrics.
func TestHub(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cluster")
	r := up(t, dir, 2, 9900)
	tgt, err := target.Load(target.Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	hub := tgt.HubURL
	if hub != "http://127.0.0.1:9908" || tgt.PIDs["hub"] == 0 {
		t.Fatalf("target hub_url %q, pid %d; want http://127.0.0.1:9908 and its pid", hub, tgt.PIDs["hub"])
	}
	// target.json names the metrics endpoints its Hub reads, for diego hub
	// --target: the BBS's health listener, the auctioneer's and Locket's
	// metrics listeners (port base +204, +205).
	wantMetrics := map[string]string{"bbs": "http://127.0.0.1:9901/metrics",
		"auctioneer": "http://127.0.0.1:10104/metrics", "locket": "http://127.0.0.1:10105/metrics"}
	if !reflect.DeepEqual(tgt.MetricsURLs, wantMetrics) {
		t.Errorf("target metrics_urls %v, want %v", tgt.MetricsURLs, wantMetrics)
	}
	if !strings.Contains(r.out.String(), "hub on http://127.0.0.1:9908") {
		t.Errorf("diego up's progress does not name the hub:\n%s", r.out)
	}

	// The stream, read from the start.
	resp, err := http.Get(hub + "/api/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var mu sync.Mutex
	var stream strings.Builder
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			mu.Lock()
			stream.WriteString(sc.Text() + "\n")
			mu.Unlock()
		}
	}()

	cl := clientFor(t, tgt)
	lg := lager.NewLogger("t")
	if err := cl.UpsertDomain(lg, "", "cluster-test", 0); err != nil {
		t.Fatal(err)
	}
	if err := cl.DesireLRP(lg, "", sampleApp("hub-app", 2)); err != nil {
		t.Fatal(err)
	}
	var app hubApp
	eventually(t, 30*time.Second, "the hub showing 2 of 2 instances running", func() (bool, string) {
		err := hubGet(hub+"/api/apps/hub-app", &app)
		return err == nil && app.App.Instances == 2 && app.App.Running == 2, fmt.Sprintf("%+v %v", app, err)
	})
	eventually(t, 20*time.Second, "an instance_started timeline item on the stream", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		s := stream.String()
		return strings.Contains(s, "event: timeline\ndata: {") && strings.Contains(s, `"kind":"instance_started","process_guid":"hub-app"`), s
	})

	// Scale through the API.
	scale := hub + "/api/apps/hub-app/scale"
	if code, body := hubtest.Post(t, scale, `{"instances":3,"confirm":true}`, false); code != http.StatusForbidden {
		t.Errorf("scale without X-Hub-Action: HTTP %d %s, want 403", code, body)
	}
	if code, body := hubtest.Post(t, scale, `{"instances":3}`, true); code != http.StatusBadRequest || !strings.Contains(body, "confirm the action") {
		t.Errorf("scale without confirm: HTTP %d %s, want 400", code, body)
	}
	if code, body := hubtest.Post(t, scale, `{"instances":3,"confirm":true}`, true); code != http.StatusOK || !strings.Contains(body, `"ok":true`) {
		t.Fatalf("scale: HTTP %d %s", code, body)
	}
	eventually(t, 30*time.Second, "3 instances answering after the scale", func() (bool, string) {
		n, msg := answering(cl, "hub-app")
		return n == 3, msg
	})
	eventually(t, 20*time.Second, "the hub showing 3 of 3 running", func() (bool, string) {
		err := hubGet(hub+"/api/apps/hub-app", &app)
		return err == nil && app.App.Instances == 3 && app.App.Running == 3, fmt.Sprintf("%+v %v", app, err)
	})

	// The system view has the components' figures from their metrics:
	// convergence passes, the auction round that placed the scaled hub-app's third instance
	// (recent: an auctioneer restarted by a lost lock starts with no round), request
	// rates (from the second scrape on).
	type system struct {
		Components []struct {
			Name    string             `json:"name"`
			Error   string             `json:"error"`
			Metrics map[string]float64 `json:"metrics"`
		} `json:"components"`
	}
	eventually(t, 60*time.Second, "the hub's system view with the bbs, auctioneer and locket metrics", func() (bool, string) {
		var sys system
		err := hubGet(hub+"/api/system", &sys)
		got := map[string]map[string]float64{}
		for _, c := range sys.Components {
			if c.Error == "" {
				got[c.Name] = c.Metrics
			}
		}
		_, conv := got["bbs"]["convergence_seconds_mean"]
		_, bbsRate := got["bbs"]["requests_per_second"]
		_, round := got["auctioneer"]["auction_round_seconds_mean"]
		_, lockRate := got["locket"]["requests_per_second"]
		return err == nil && conv && bbsRate && round && lockRate && got["bbs"]["convergence_seconds_mean"] > 0 && got["auctioneer"]["auction_round_seconds_mean"] > 0,
			fmt.Sprintf("%+v %v\ndiego up: %s\nauctioneer log: %s", sys, err, r.out, tail(filepath.Join(dir, "logs", "auctioneer.log"), 40))
	})

	// Kill cell-2's rep: the hub shows it missing and the instances move.
	if err := syscall.Kill(tgt.Cells[1].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 90*time.Second, "cell-2 missing in the hub, its instances on cell-1", func() (bool, string) {
		var cells struct {
			Items []struct {
				CellID  string `json:"cell_id"`
				Missing bool   `json:"missing"`
			} `json:"items"`
		}
		var ov struct {
			Cells struct{ Total, Missing int } `json:"cells"`
		}
		err1, err2, err3 := hubGet(hub+"/api/cells", &cells), hubGet(hub+"/api/overview", &ov), hubGet(hub+"/api/apps/hub-app", &app)
		missing := false
		for _, c := range cells.Items {
			missing = missing || (c.CellID == "cell-2" && c.Missing)
		}
		onCell1 := 0
		for _, in := range app.Instances {
			if in.CellID == "cell-1" && in.State == "RUNNING" {
				onCell1++
			}
		}
		return missing && ov.Cells.Missing == 1 && ov.Cells.Total == 2 && onCell1 == 3,
			fmt.Sprintf("cells %+v overview %+v app %+v %v %v %v", cells, ov, app, err1, err2, err3)
	})
	var ev struct {
		Items []struct {
			Kind   string `json:"kind"`
			CellID string `json:"cell_id"`
		} `json:"items"`
	}
	if err := hubGet(hub+"/api/events?kind=cell_lost", &ev); err != nil || len(ev.Items) != 1 || ev.Items[0].CellID != "cell-2" {
		t.Errorf("cell_lost events: %+v %v", ev, err)
	}

	// Retire an instance; cancel a task that does not exist.
	before := app.Instances[0]
	if code, body := hubtest.Post(t, hub+"/api/apps/hub-app/instances/0/retire", `{"confirm":true}`, true); code != http.StatusOK {
		t.Fatalf("retire: HTTP %d %s", code, body)
	}
	eventually(t, 30*time.Second, "instance 0 retired (gone or replaced)", func() (bool, string) {
		lrps, err := cl.ActualLRPs(lg, "", models.ActualLRPFilter{ProcessGuid: "hub-app", Index: &zero})
		for _, l := range lrps {
			if l.ActualLRPInstanceKey.InstanceGuid == before.InstanceGuid {
				return false, fmt.Sprintf("%+v %v", l, err)
			}
		}
		return err == nil, fmt.Sprint(err)
	})
	if code, body := hubtest.Post(t, hub+"/api/tasks/no-such-task/cancel", `{"confirm":true}`, true); code != http.StatusNotFound {
		t.Errorf("cancel of an unknown task: HTTP %d %s, want 404", code, body)
	}
	if err := hubGet(hub+"/api/events?kind=action", &ev); err != nil || len(ev.Items) != 2 {
		t.Errorf("action events: %+v %v, want the scale and the retire", ev, err)
	}
}

var zero int32

// TestNoHub: --no-hub leaves the Hub out of the cluster and target.json.
func TestNoHub(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cluster")
	upWith(t, Options{Dir: dir, Cells: 1, PortBase: 9930, NoHub: true})
	tgt, err := target.Load(target.Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	if tgt.HubURL != "" || tgt.PIDs["hub"] != 0 {
		t.Errorf("hub_url %q, pid %d; want none with NoHub", tgt.HubURL, tgt.PIDs["hub"])
	}
	if err := dialOK("127.0.0.1:9938"); err == nil {
		t.Error("something listens on the hub's port with NoHub")
	}
}
