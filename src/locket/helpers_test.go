package locket

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"code.cloudfoundry.org/locket/models"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/diego-go/diego/src/internal/sqldb"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/locket/sqllock"
)

// eachBackend runs fn as a parallel subtest per database, with a fresh
// database and a function opening lock stores (separate pools, as separate
// Locket processes would have) on it.
func eachBackend(t *testing.T, fn func(t *testing.T, open func() *sqllock.Store)) {
	testdb.Each(t, func(t *testing.T, driver, dsn string) {
		fn(t, func() *sqllock.Store {
			st, err := sqllock.Open(context.Background(), sqldb.Config{Driver: driver, DSN: dsn}, testLogger(t))
			if err != nil {
				t.Fatalf("sqllock.Open(%s): %v", driver, err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
}

// eachClient runs fn per database with an in-process client of a fresh
// Service and the registry holding its metrics.
func eachClient(t *testing.T, fn func(t *testing.T, c Client, reg *prometheus.Registry)) {
	eachBackend(t, func(t *testing.T, open func() *sqllock.Store) {
		reg := prometheus.NewRegistry()
		fn(t, newService(t, Config{Store: open(), Registerer: reg}).LocalClient(), reg)
	})
}

func testLogger(t testing.TB) *slog.Logger { return testutil.Logger().With("test", t.Name()) }

func newService(t *testing.T, cfg Config) *Service {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func lockReq(key, owner string, code models.TypeCode, ttl int64) *models.LockRequest {
	return &models.LockRequest{Resource: &models.Resource{Key: key, Owner: owner, TypeCode: code}, TtlInSeconds: ttl}
}

// wantCode fails unless err is a status with code (and message, if given).
func wantCode(t *testing.T, what string, err error, code codes.Code, msg string) {
	t.Helper()
	st, _ := status.FromError(err)
	if status.Code(err) != code || (msg != "" && st.Message() != msg) {
		t.Fatalf("%s: got %v; want %s %q", what, err, code, msg)
	}
}

// fetchCode is the status code of Fetch(key) through c.
func fetchCode(c Client, key string) codes.Code {
	_, err := c.Fetch(context.Background(), &models.FetchRequest{Key: key})
	return status.Code(err)
}

// eventually polls cond until it holds, failing t after within.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, within, what, cond)
}
