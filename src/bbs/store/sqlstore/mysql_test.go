package sqlstore

import (
	"testing"

	"github.com/diego-go/diego/src/bbs/store/storetest"
	"github.com/diego-go/diego/src/internal/testdb"
)

func TestMySQL(t *testing.T) {
	storetest.Run(t, opener(DriverMySQL, testdb.MySQL))
}
