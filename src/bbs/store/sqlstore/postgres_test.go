package sqlstore

import (
	"testing"

	"github.com/diego-go/diego/src/bbs/store/storetest"
	"github.com/diego-go/diego/src/internal/testdb"
)

func TestPostgres(t *testing.T) {
	storetest.Run(t, opener(DriverPostgres, testdb.Postgres))
}
