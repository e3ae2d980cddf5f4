package interop_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strings"
	"testing"

	"code.cloudfoundry.org/bbs/models"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/diego-go/diego/src/bbs/bbstest"
	"github.com/diego-go/diego/src/internal/testdb"
)

// TestDatabaseErrorsCarryNoInternals: when the database fails a request
// (here PostgreSQL, its tasks table dropped under the BBS), the client gets
// an UnknownError that points at the BBS log by request id, and nothing of
// the database's own message: no SQLSTATE, host, port, user, database or
// relation name (issue 17: the raw driver message reached clients).
func TestDatabaseErrorsCarryNoInternals(t *testing.T) {
	dsn := testdb.Postgres(t)
	u, err := url.Parse(dsn)
	must(t, err)
	dbName := strings.TrimPrefix(u.Path, "/")
	h := bbstest.Start(t, bbstest.Options{Driver: "postgres", DSN: dsn})
	must(t, h.Client.DesireTask(logger, "", "before", "d", taskDef("s")))

	db, err := sql.Open("pgx", dsn)
	must(t, err)
	defer db.Close()
	_, err = db.ExecContext(context.Background(), "DROP TABLE tasks")
	must(t, err)

	leaks := []string{"SQLSTATE", "42P01", "relation", "tasks\"", "postgres", dbName, u.Hostname(), u.Port(), "pgx"}
	check := func(what string, err error) {
		t.Helper()
		var me *models.Error
		if !errors.As(err, &me) || me.Type != models.Error_UnknownError {
			t.Fatalf("%s: err = %v, want an UnknownError", what, err)
		}
		for _, l := range leaks {
			if l != "" && strings.Contains(me.Message, l) {
				t.Fatalf("%s: the client sees %q, which carries %q from the database", what, me.Message, l)
			}
		}
		if !strings.Contains(me.Message, "request id") {
			t.Fatalf("%s: %q does not say which request id to look for in the BBS log", what, me.Message)
		}
	}
	check("DesireTask", h.Client.DesireTask(logger, "", "after", "d", taskDef("s")))
	_, err = h.Client.TaskByGuid(logger, "", "before")
	check("TaskByGuid", err)
	_, err = h.Client.Tasks(logger, "")
	check("Tasks (a streamed list)", err)

	// Typed errors still pass unchanged.
	_, err = h.Client.DesiredLRPByProcessGuid(logger, "", "nope")
	wantErr(t, err, models.Error_ResourceNotFound)
}
