package service_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/diego-go/diego/src/bbs/events"
	"github.com/diego-go/diego/src/bbs/service"
	"github.com/diego-go/diego/src/bbs/store/sqlstore"
	"github.com/diego-go/diego/src/bbs/store/storetest"
	"github.com/diego-go/diego/src/internal/testdb"
)

// BenchmarkDesireLRP20000 desires one LRP of 20,000 instances per
// iteration (each a new process guid) and reports the time per desire.
func BenchmarkDesireLRP20000(b *testing.B) {
	testdb.EachBench(b, func(b *testing.B, driver, dsn string) {
		st, err := sqlstore.Open(context.Background(), sqlstore.Config{Driver: driver, DSN: dsn},
			storetest.NewRing(b, "k1"), slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		hub := events.NewHub(16, slog.New(slog.DiscardHandler))
		svc, err := service.New(service.Config{Store: st, LRPEvents: hub, TaskEvents: hub, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		defer svc.Close()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := svc.DesireLRP(context.Background(), desired(fmt.Sprintf("bench-%d", i), 20000)); err != nil {
				b.Fatal(err)
			}
		}
	}, testdb.Backends[0].Driver, testdb.Backends[1].Driver)
}
