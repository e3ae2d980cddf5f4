package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"code.cloudfoundry.org/bbs/models"
	locketmodels "code.cloudfoundry.org/locket/models"
)

func TestJSONLinesMatchEncodingJSON(t *testing.T) {
	lrps := []*models.DesiredLRP{
		{ProcessGuid: "a", Domain: "d", Instances: 1, RootFs: "preloaded:x", Annotation: "<html>&"},
		{ProcessGuid: "b", Domain: "d", Instances: 2},
	}
	var buf bytes.Buffer
	if err := Print(&buf, JSON, lrps, DesiredLRPHeader, DesiredLRPRow); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, l := range lrps {
		b, _ := json.Marshal(l)
		want.Write(b)
		want.WriteByte('\n')
	}
	if buf.String() != want.String() {
		t.Fatalf("got\n%s\nwant\n%s", buf.String(), want.String())
	}
}

func TestTables(t *testing.T) {
	var buf bytes.Buffer
	lrp := &models.ActualLRP{ActualLRPKey: models.NewActualLRPKey("web", 1, "d"),
		ActualLRPInstanceKey: models.NewActualLRPInstanceKey("ig", "cell-1"),
		ActualLRPNetInfo:     models.NewActualLRPNetInfo("10.0.0.1", "", models.ActualLRPNetInfo_PreferredAddressUnknown, models.NewPortMapping(61000, 8080)),
		State:                models.ActualLRPStateCrashed, CrashCount: 3, CrashReason: "exit status 1"}
	if err := Print(&buf, Table, []*models.ActualLRP{lrp}, ActualLRPHeader, ActualLRPRow); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "PROCESS_GUID  INDEX  STATE") {
		t.Fatalf("table:\n%s", buf.String())
	}
	for _, want := range []string{"web", "CRASHED", "ORDINARY", "cell-1", "10.0.0.1 61000->8080", "exit status 1"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row %q lacks %q", lines[1], want)
		}
	}
	buf.Reset()
	Print(&buf, Table, []*locketmodels.Resource{{Key: "k", Owner: "o", Value: "v", Type: "lock"}}, ResourceHeader, ResourceRow)
	if got := buf.String(); got != "KEY  OWNER  VALUE  TYPE\nk    o      v      lock\n" {
		t.Fatalf("resources: %q", got)
	}
	task := &models.Task{TaskGuid: "t", Domain: "d", State: models.Task_Completed, Result: "ok\nmore"}
	if row := TaskRow(task); row[2] != "Completed" || row[5] != "result: ok ..." {
		t.Fatalf("task row %v", row)
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Fatal("xml accepted")
	}
}
