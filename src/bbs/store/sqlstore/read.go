package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/internal/sqldb"
	"github.com/diego-go/diego/src/locket/record"
)

// Reads outside a transaction go to the reader pool and see the latest
// committed state.

// Domains lists, sorted, the domains that never expire or expire after now.
func (s *Store) Domains(ctx context.Context, now time.Time) ([]string, error) {
	return s.texts(ctx, "domains", "SELECT domain FROM domains WHERE expires_at = 0 OR expires_at > ? ORDER BY domain", now.UnixNano())
}

// DesiredProcessGuids lists every desired LRP's process guid, sorted byte
// by byte (the column's collation).
func (s *Store) DesiredProcessGuids(ctx context.Context) ([]string, error) {
	return s.texts(ctx, "desired process guids", "SELECT process_guid FROM desired_lrps ORDER BY process_guid")
}

// texts runs a query selecting one text column on the readers and returns
// its values; what names them in an error.
func (s *Store) texts(ctx context.Context, what, query string, args ...any) ([]string, error) {
	var out []string
	rows, err := s.rs.query(ctx, s.d.q(query), args...)
	err = sqldb.Rows(rows, err, func(scan func(...any) error) error {
		var v string
		err := scan(&v)
		out = append(out, v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// readOne reads one sealed column of one row; ErrNotFound when absent.
func (s *Store) readOne(ctx context.Context, query string, args ...any) ([]byte, error) {
	var sealed []byte
	err := s.rs.queryRow(ctx, s.d.q(query), args...).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return sealed, err
}

// DesiredLRP returns one desired LRP or an error wrapping store.ErrNotFound.
func (s *Store) DesiredLRP(ctx context.Context, processGuid string) (*models.DesiredLRP, error) {
	sealed, err := s.readOne(ctx, "SELECT desired_lrp FROM desired_lrps WHERE process_guid = ?", processGuid)
	return decodeRow[models.DesiredLRP](s, aadDesiredLRP, sealed, err, "desired lrp", processGuid)
}

// SchedulingInfo returns one desired LRP's scheduling info or an error
// wrapping store.ErrNotFound.
func (s *Store) SchedulingInfo(ctx context.Context, processGuid string) (*models.DesiredLRPSchedulingInfo, error) {
	sealed, err := s.readOne(ctx, "SELECT scheduling_info FROM desired_lrps WHERE process_guid = ?", processGuid)
	return decodeRow[models.DesiredLRPSchedulingInfo](s, aadSchedulingInfo, sealed, err, "scheduling info", processGuid)
}

// Task returns one task or an error wrapping store.ErrNotFound.
func (s *Store) Task(ctx context.Context, taskGuid string) (*models.Task, error) {
	sealed, err := s.readOne(ctx, "SELECT payload FROM tasks WHERE task_guid = ?", taskGuid)
	return decodeRow[models.Task](s, aadTask, sealed, err, "task", taskGuid)
}

// ActualLRPs returns the matching actual LRPs decoded, ordered by
// (process guid, index, presence). Meant for small filtered sets; use
// EachActualLRP to list many.
func (s *Store) ActualLRPs(ctx context.Context, f store.ActualFilter) ([]*models.ActualLRP, error) {
	var out []*models.ActualLRP
	err := s.EachActualLRP(ctx, f, func(pb []byte) error {
		a := new(models.ActualLRP)
		if err := a.Unmarshal(pb); err != nil {
			return fmt.Errorf("unmarshal actual lrp: %w", err)
		}
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Presences lists the Locket rows of type typ ("presence" or "lock"),
// ordered by key.
func (s *Store) Presences(ctx context.Context, typ string) ([]record.Lock, error) {
	return s.FetchLocks(ctx, typ)
}
