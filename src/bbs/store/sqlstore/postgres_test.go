package sqlstore

import (
	"context"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/bbs/store/storetest"
	"github.com/diego-go/diego/src/internal/testdb"
)

func TestPostgres(t *testing.T) {
	storetest.Run(t, opener(DriverPostgres, testdb.Postgres))
}

// TestPostgresSimpleProtocol: with simple_protocol in the DSN results
// arrive as text, and streaming must still hand out the raw payload.
func TestPostgresSimpleProtocol(t *testing.T) {
	dsn := testdb.Postgres(t) + "&default_query_exec_mode=simple_protocol"
	s := mustOpen(t, DriverPostgres, dsn, storetest.NewRing(t, "k1"))
	want := storetest.NewActualLRP("p1", 0, models.ActualLRP_Ordinary, "d", "cell")
	if err := s.Update(context.Background(), func(tx store.Tx) error { return tx.InsertActualLRP(want) }); err != nil {
		t.Fatal(err)
	}
	got, err := s.ActualLRPs(context.Background(), store.ActualFilter{CellID: "cell"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !want.Equal(got[0]) {
		t.Errorf("ActualLRPs = %+v, want [%+v]", got, want)
	}
}
