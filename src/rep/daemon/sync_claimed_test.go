package daemon

import (
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

// TestBulkSyncReportsLostStart: an instance whose container is healthy but
// whose StartActualLRP the BBS never recorded (it was down) stays CLAIMED
// in the BBS until a bulk sync pass reports it running again, with the
// container's address and ports (the chaos suite's TestDatabaseUnreachable).
func TestBulkSyncReportsLostStart(t *testing.T) {
	f := addCell(t, newBBS(t), "cell-lost-start", func(c *Settings, _ *Options) {
		c.SyncInterval = Duration(time.Hour) // passes run only when the test says
	})
	ctx := t.Context()
	desired := sleeper("pg-lost")
	desired.Ports = []uint32{8080}
	f.desireAndPlace(t, desired, "ig-lost")
	running := f.waitRunning(t, "pg-lost", "ig-lost")
	if running.Address == "" || len(running.Ports) == 0 {
		t.Fatalf("running instance without net info: %s", running)
	}

	// Lose the start: the BBS has the instance CLAIMED by this cell again,
	// without net info, as if StartActualLRP had failed.
	if err := f.h.Client.ClaimActualLRP(f.h.Log, "", &running.ActualLRPKey, &running.ActualLRPInstanceKey); err != nil {
		t.Fatalf("claiming the running instance again: %v", err)
	}
	for _, l := range f.actual(t, "pg-lost") {
		if l.InstanceGuid == "ig-lost" && l.State != models.ActualLRPStateClaimed {
			t.Fatalf("the instance is not CLAIMED before the sync: %s", l)
		}
	}

	st, err := f.d.SyncOnce(ctx)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if st.Reported != 1 || st.Removed+st.Failed+st.Abandoned+st.Destroyed != 0 {
		t.Fatalf("sync stats: %+v", st)
	}
	var after *models.ActualLRP
	for _, l := range f.actual(t, "pg-lost") {
		if l.InstanceGuid == "ig-lost" {
			after = l
		}
	}
	if after == nil || after.State != models.ActualLRPStateRunning || after.CellId != f.cfg.CellID {
		t.Fatalf("after one sync pass the instance is not RUNNING on this cell: %v", after)
	}
	if !after.ActualLRPNetInfo.Equal(running.ActualLRPNetInfo) {
		t.Fatalf("net info after the sync %v, want the container's %v", after.ActualLRPNetInfo, running.ActualLRPNetInfo)
	}

	// A second pass has nothing more to report.
	if st, err = f.d.SyncOnce(ctx); err != nil || st.Reported+st.Removed+st.Failed+st.Abandoned+st.Destroyed != 0 {
		t.Fatalf("second pass: %+v %v", st, err)
	}
}
