package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/bbs/store/storetest"
	"github.com/diego-go/diego/src/internal/testdb"
)

// benchActualLRPs is how many rows BenchmarkEachActualLRP lists.
const benchActualLRPs = 250_000

// BenchmarkEachActualLRP lists every actual LRP (decrypting each row) on a
// table of 250,000 rows, per database. Populating takes a while, so it
// happens inside the benchmark and only runs with -bench.
func BenchmarkEachActualLRP(b *testing.B) {
	for _, be := range testdb.Backends {
		b.Run(be.Driver, func(b *testing.B) {
			s := mustOpen(b, be.Driver, be.NewDSN(b), storetest.NewRing(b, "k1"))
			start := time.Now()
			bulkInsertActuals(b, s, benchActualLRPs)
			b.Logf("%s: inserted %d actual lrps in %v", be.Driver, benchActualLRPs, time.Since(start).Round(time.Millisecond))
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rows, bytes := 0, 0
				err := s.EachActualLRP(ctx, store.ActualFilter{}, func(pb []byte) error {
					rows++
					bytes += len(pb)
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				if rows != benchActualLRPs {
					b.Fatalf("listed %d rows, want %d", rows, benchActualLRPs)
				}
				b.SetBytes(int64(bytes))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchActualLRPs, "ns/row")
		})
	}
}

// bulkInsertActuals writes n sealed actual LRPs with multi-row INSERTs
// (going through Tx row by row would dominate the benchmark's run time).
func bulkInsertActuals(b testing.TB, s *Store, n int) {
	const perStmt = 500
	const cols = "(process_guid, instance_index, presence, domain, state, cell_id, instance_guid, since, key_label, rev, payload)"
	ctx := context.Background()
	for lo := 0; lo < n; lo += 10 * perStmt {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			for stmt := lo; stmt < min(lo+10*perStmt, n); stmt += perStmt {
				var vals []string
				var args []any
				for i := stmt; i < min(stmt+perStmt, n); i++ {
					a := storetest.NewActualLRP(fmt.Sprintf("%08d-aaaa-bbbb-cccc-dddddddddddd", i/4), int32(i%4),
						models.ActualLRP_Ordinary, "cf-apps", fmt.Sprintf("cell-%03d", i%200))
					payload, label, err := s.seal(aadActualLRP, a)
					if err != nil {
						return err
					}
					vals = append(vals, "(?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)")
					args = append(args, a.ProcessGuid, a.Index, int32(a.Presence), a.Domain, a.State, a.CellId, a.InstanceGuid, a.Since, label, payload)
				}
				q := "INSERT INTO actual_lrps " + cols + " VALUES " + strings.Join(vals, ", ")
				if _, err := tx.ExecContext(ctx, s.d.q(q), args...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatalf("populating: %v", err)
		}
	}
	if s.d.name == DriverPostgres {
		if _, err := s.w.ExecContext(ctx, "VACUUM ANALYZE actual_lrps"); err != nil {
			b.Fatalf("vacuum: %v", err)
		}
	}
}

// BenchmarkUpdateInsertActualLRP measures one Update inserting one actual LRP.
func BenchmarkUpdateInsertActualLRP(b *testing.B) {
	for _, be := range testdb.Backends {
		b.Run(be.Driver, func(b *testing.B) {
			s := mustOpen(b, be.Driver, be.NewDSN(b), storetest.NewRing(b, "k1"))
			ctx := context.Background()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i++
				a := storetest.NewActualLRP(fmt.Sprintf("%08d-aaaa-bbbb-cccc-dddddddddddd", i), 0, models.ActualLRP_Ordinary, "cf-apps", "cell-1")
				if err := s.Update(ctx, func(tx store.Tx) error { return tx.InsertActualLRP(a) }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
