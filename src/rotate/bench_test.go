package rotate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/rotate"
)

// loadStats are the API latencies measured while a rotation ran.
type loadStats struct {
	reencrypt, total          time.Duration
	rows                      int64
	reads, writes, errors     int
	readP50, readP99, readMax time.Duration
	writeP50, writeP99        time.Duration
	writeMax                  time.Duration
}

func (s loadStats) String() string {
	return fmt.Sprintf("re-encryption %s (%d rows, rotation total %s); during it %d reads p50 %s p99 %s max %s, %d writes p50 %s p99 %s max %s, %d errors",
		s.reencrypt.Round(time.Millisecond), s.rows, s.total.Round(time.Millisecond),
		s.reads, s.readP50.Round(100*time.Microsecond), s.readP99.Round(100*time.Microsecond), s.readMax.Round(time.Millisecond),
		s.writes, s.writeP50.Round(100*time.Microsecond), s.writeP99.Round(100*time.Microsecond), s.writeMax.Round(time.Millisecond), s.errors)
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// rotateUnderLoad populates the database, starts a BBS, and rotates the key
// while readers and writers use the API; latencies count only the requests
// that started during the rotation.
//
// Each reader and writer sends one request per pace (0: back to back, which
// saturates a small machine: that measures the BBS's worst case, not a
// cluster's load).
func rotateUnderLoad(t testing.TB, driver, dsn string, desired, actual, tasks, readers, writers int, readPace, writePace time.Duration) loadStats {
	e := newEnv(t, driver, dsn, false)
	start := time.Now()
	e.populate(desired, actual, tasks)
	t.Logf("%s: populated %d desired LRPs, %d actual LRPs, %d tasks in %s", driver, desired, actual, tasks, time.Since(start).Round(time.Millisecond))
	b := e.startBBS()
	var rotating atomic.Bool
	stop := make(chan struct{})
	var mu sync.Mutex
	var readLat, writeLat []time.Duration
	var errs atomic.Int64
	var wg sync.WaitGroup
	worker := func(w int, write bool) {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(uint64(w), 7))
		var lat []time.Duration
		pace := readPace
		if write {
			pace = writePace
		}
		next := time.Now()
		for i := 0; ; i++ {
			if pace > 0 {
				next = next.Add(pace)
				time.Sleep(time.Until(next))
			}
			select {
			case <-stop:
				mu.Lock()
				if write {
					writeLat = append(writeLat, lat...)
				} else {
					readLat = append(readLat, lat...)
				}
				mu.Unlock()
				return
			default:
			}
			during := rotating.Load()
			t0 := time.Now()
			var err error
			switch {
			case write && i%2 == 0:
				err = b.Client.DesireTask(logger, "", fmt.Sprintf("load-%d-%d", w, i), "load", taskDef(secret))
			case write:
				err = b.Client.DesireLRP(logger, "", desiredLRP(fmt.Sprintf("load-%d-%d", w, i), "load", 1, secret))
			case i%3 == 0:
				_, err = b.Client.DesiredLRPByProcessGuid(logger, "", fmt.Sprintf("pop-%08d", rng.IntN(desired)))
			case i%3 == 1:
				_, err = b.Client.ActualLRPs(logger, "", models.ActualLRPFilter{ProcessGuid: fmt.Sprintf("pop-%08d", rng.IntN(desired))})
			default:
				_, err = b.Client.TaskByGuid(logger, "", fmt.Sprintf("pop-task-%08d", rng.IntN(max(tasks, 1))))
			}
			d := time.Since(t0)
			if err != nil {
				errs.Add(1)
				t.Errorf("load request: %v", err)
			}
			if during && rotating.Load() {
				lat = append(lat, d)
			}
		}
	}
	for w := 0; w < readers+writers; w++ {
		wg.Add(1)
		go worker(w, w >= readers)
	}
	time.Sleep(200 * time.Millisecond)
	cfg := e.rotateConfig(b.URL)
	cfg.Progress = nil
	cfg.PollInterval = time.Second
	var reencryptStart, reencryptEnd time.Time
	_, _, per := b.status()
	oldRows := per["k1"]
	cfg.AfterStep = func(s rotate.Step) error {
		switch s {
		case rotate.StepActivate:
			reencryptStart = time.Now() // the reload that follows starts re-encryption
			rotating.Store(true)
		case rotate.StepReencrypt:
			reencryptEnd = time.Now()
			rotating.Store(false)
		}
		return nil
	}
	t0 := time.Now()
	res, err := rotate.Run(context.Background(), cfg)
	total := time.Since(t0)
	rotating.Store(false)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	checkConverged(t, e, b, "k1")
	st := loadStats{reencrypt: res.Reencryption, total: total, rows: res.RowsReencrypted,
		reads: len(readLat), writes: len(writeLat), errors: int(errs.Load()),
		readP50: pct(readLat, 0.5), readP99: pct(readLat, 0.99), readMax: pct(readLat, 1),
		writeP50: pct(writeLat, 0.5), writeP99: pct(writeLat, 0.99), writeMax: pct(writeLat, 1)}
	st.reencrypt = reencryptEnd.Sub(reencryptStart)
	st.rows = oldRows
	t.Logf("%s: %s", driver, st)
	return st
}

// TestRotateUnderLoadSmall is the small-size run of the benchmark below.
func TestRotateUnderLoadSmall(t *testing.T) {
	st := rotateUnderLoad(t, "sqlite", testdb.SQLite(t), 2000, 5000, 200, 4, 4, 0, 0)
	if st.errors != 0 || st.reads == 0 || st.writes == 0 {
		t.Fatalf("%s", st)
	}
}

// BenchmarkRotate* re-encrypt 100,000 desired LRPs, 250,000 actual LRPs and
// 10,000 tasks online while 8 readers (50 requests/s each) and 8 writers (10
// writes/s each) use the API; the Saturated variants send back to back:
//
//	go test ./src/rotate -run '^$' -bench Rotate -benchtime 1x -timeout 60m
func BenchmarkRotateSQLite(b *testing.B) {
	benchRotate(b, "sqlite", testdb.SQLite(b), 20*time.Millisecond, 100*time.Millisecond)
}
func BenchmarkRotatePostgres(b *testing.B) {
	benchRotate(b, "postgres", testdb.Postgres(b), 20*time.Millisecond, 100*time.Millisecond)
}
func BenchmarkRotateSaturatedSQLite(b *testing.B) { benchRotate(b, "sqlite", testdb.SQLite(b), 0, 0) }
func BenchmarkRotateSaturatedPostgres(b *testing.B) {
	benchRotate(b, "postgres", testdb.Postgres(b), 0, 0)
}

func benchRotate(b *testing.B, driver, dsn string, readPace, writePace time.Duration) {
	for range b.N {
		st := rotateUnderLoad(b, driver, dsn, 100000, 250000, 10000, 8, 8, readPace, writePace)
		b.ReportMetric(st.reencrypt.Seconds(), "reencrypt-s")
		b.ReportMetric(float64(st.readP99.Microseconds())/1000, "read-p99-ms")
		b.ReportMetric(float64(st.writeP99.Microseconds())/1000, "write-p99-ms")
		b.ReportMetric(float64(st.rows), "rows")
	}
}
func BenchmarkRotateIdleSQLite(b *testing.B)   { benchRotateIdle(b, "sqlite", testdb.SQLite(b)) }
func BenchmarkRotateIdlePostgres(b *testing.B) { benchRotateIdle(b, "postgres", testdb.Postgres(b)) }

// benchRotateIdle rotates with no API load: the store's re-encryption rate.
func benchRotateIdle(b *testing.B, driver, dsn string) {
	for range b.N {
		st := rotateUnderLoad(b, driver, dsn, 100000, 250000, 10000, 0, 0, 0, 0)
		b.ReportMetric(st.reencrypt.Seconds(), "reencrypt-s")
		b.ReportMetric(float64(st.rows), "rows")
	}
}
