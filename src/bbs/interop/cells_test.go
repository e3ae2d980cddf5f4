package interop_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/clock"
	"code.cloudfoundry.org/locket"
	"code.cloudfoundry.org/locket/lock"
	locketmodels "code.cloudfoundry.org/locket/models"
	"github.com/tedsuo/ifrit"

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/internal/testdb"
)

// A rep's presence, held through the BBS's embedded Locket by the
// reference's own presence runner, is listed by /v1/cells/list.r1; when the
// presence goes, so does the cell.
func TestCellsFromLocketPresences(t *testing.T) {
	h := bbstest.Start(t, bbstest.Options{Driver: "sqlite", DSN: testdb.SQLite(t), EmbeddedLocket: true})
	lc, err := locket.NewClient(logger, locket.ClientLocketConfig{
		LocketAddress: h.Daemon.LocketAddr(), LocketCACertFile: h.Certs.CACert,
		LocketClientCertFile: h.Certs.ClientCert, LocketClientKeyFile: h.Certs.ClientKey,
	})
	must(t, err)
	cell := models.NewCellPresence("cell-1", "1.2.3.4:1800", "https://cell-1:1801", "z1",
		models.NewCellCapacity(4096, 8192, 250), []string{"preloaded:cflinuxfs4"}, nil, []string{"blue"}, nil)
	value, _ := json.Marshal(cell)
	runner := lock.NewPresenceRunner(logger, lc, &locketmodels.Resource{Key: "cell-1", Owner: "rep-1", Value: string(value),
		TypeCode: locketmodels.PRESENCE}, 15, clock.NewClock(), time.Second)
	proc := ifrit.Invoke(runner)

	var got []*models.CellPresence
	deadline := time.Now().Add(10 * time.Second)
	for len(got) == 0 && time.Now().Before(deadline) {
		got, err = h.Client.Cells(logger, "")
		must(t, err)
		time.Sleep(100 * time.Millisecond)
	}
	if len(got) != 1 || got[0].CellId != "cell-1" || got[0].Zone != "z1" || got[0].Capacity.MemoryMb != 4096 ||
		got[0].RepUrl != "https://cell-1:1801" || len(got[0].PlacementTags) != 1 {
		t.Fatalf("cells = %+v", got)
	}

	proc.Signal(os.Interrupt) // the runner releases its presence
	<-proc.Wait()
	deadline = time.Now().Add(10 * time.Second)
	for len(got) != 0 && time.Now().Before(deadline) {
		got, err = h.Client.Cells(logger, "")
		must(t, err)
		time.Sleep(100 * time.Millisecond)
	}
	if len(got) != 0 {
		t.Fatalf("cells after the presence was released = %+v", got)
	}
}
