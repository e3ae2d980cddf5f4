package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/diego-go/diego/src/bbs/store"
	"github.com/diego-go/diego/src/bbs/store/metricsguid"
	"github.com/diego-go/diego/src/internal/sqldb"
)

// The Each* methods stream: rows are fetched, decrypted and handed to fn
// one at a time, so memory does not grow with the table. The pb slice
// passed to fn is only valid until fn returns; fn must copy what it keeps.
// An error from fn stops the scan and is returned, wrapped (errors.Is
// still finds it).

// maxInList bounds the placeholders in one "IN (...)" query; longer guid
// lists are queried in sorted chunks, which keeps the output ordered.
const maxInList = 500

// EachActualLRP streams the protobuf encoding of every matching
// models.ActualLRP, ordered by (process guid, index, presence).
func (s *Store) EachActualLRP(ctx context.Context, f store.ActualFilter, fn func(pb []byte) error) error {
	where, args := domainAndCell(f.Domain, f.CellID)
	if f.ProcessGuid != "" {
		where, args = append(where, "process_guid = ?"), append(args, f.ProcessGuid)
	}
	if f.Index != nil {
		where, args = append(where, "instance_index = ?"), append(args, *f.Index)
	}
	where, args = guidRange(where, args, f.Range)
	q := "SELECT payload FROM actual_lrps" + whereClause(where) + " ORDER BY process_guid, instance_index, presence"
	if err := s.stream(ctx, aadActualLRP, fn, q, args...); err != nil {
		return fmt.Errorf("each actual lrp: %w", err)
	}
	return nil
}

// EachDesiredLRP streams the protobuf encoding of every matching
// models.DesiredLRP, ordered by process guid.
func (s *Store) EachDesiredLRP(ctx context.Context, f store.DesiredFilter, fn func(pb []byte) error) error {
	if f.Served {
		fn = metricsguid.Each(fn)
	}
	if err := s.eachDesired(ctx, "desired_lrp", aadDesiredLRP, f, fn); err != nil {
		return fmt.Errorf("each desired lrp: %w", err)
	}
	return nil
}

// EachSchedulingInfo streams the protobuf encoding of every matching
// models.DesiredLRPSchedulingInfo, ordered by process guid.
func (s *Store) EachSchedulingInfo(ctx context.Context, f store.DesiredFilter, fn func(pb []byte) error) error {
	if err := s.eachDesired(ctx, "scheduling_info", aadSchedulingInfo, f, fn); err != nil {
		return fmt.Errorf("each scheduling info: %w", err)
	}
	return nil
}

func (s *Store) eachDesired(ctx context.Context, column string, aad []byte, f store.DesiredFilter, fn func([]byte) error) error {
	var where []string
	var args []any
	if f.Domain != "" {
		where, args = append(where, "domain = ?"), append(args, f.Domain)
	}
	where, args = guidRange(where, args, f.Range)
	if len(f.ProcessGuids) == 0 {
		q := "SELECT " + column + " FROM desired_lrps" + whereClause(where) + " ORDER BY process_guid"
		return s.stream(ctx, aad, fn, q, args...)
	}
	guids := slices.Compact(slices.Sorted(slices.Values(f.ProcessGuids)))
	for chunk := range slices.Chunk(guids, maxInList) {
		w := append(slices.Clip(where), "process_guid IN ("+sqldb.Placeholders(len(chunk))+")")
		a := slices.Clip(args)
		for _, g := range chunk {
			a = append(a, g)
		}
		q := "SELECT " + column + " FROM desired_lrps" + whereClause(w) + " ORDER BY process_guid"
		// unprepared: the text varies with the chunk's length
		if err := s.streamWith(ctx, nil, aad, fn, q, a...); err != nil {
			return err
		}
	}
	return nil
}

// EachTask streams the protobuf encoding of every matching models.Task,
// ordered by task guid.
func (s *Store) EachTask(ctx context.Context, f store.TaskFilter, fn func(pb []byte) error) error {
	where, args := domainAndCell(f.Domain, f.CellID)
	q := "SELECT payload FROM tasks" + whereClause(where) + " ORDER BY task_guid"
	if err := s.stream(ctx, aadTask, fn, q, args...); err != nil {
		return fmt.Errorf("each task: %w", err)
	}
	return nil
}

// domainAndCell are the conditions (and their arguments) selecting rows of
// domain and of cellID, where they are set.
func domainAndCell(domain, cellID string) (where []string, args []any) {
	if domain != "" {
		where, args = append(where, "domain = ?"), append(args, domain)
	}
	if cellID != "" {
		where, args = append(where, "cell_id = ?"), append(args, cellID)
	}
	return where, args
}

// guidRange adds r's bounds on process_guid. The schema compares process
// guids byte by byte (SQLite's BINARY, PostgreSQL's "C", MySQL's
// utf8mb4_bin), as GuidRange.Contains does.
func guidRange(where []string, args []any, r store.GuidRange) ([]string, []any) {
	if r.From != "" {
		where, args = append(where, "process_guid >= ?"), append(args, r.From)
	}
	if r.To != "" {
		where, args = append(where, "process_guid < ?"), append(args, r.To)
	}
	return where, args
}

func whereClause(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// stream runs query (selecting one sealed column) on the readers and calls
// fn with each row's plaintext. The sealed bytes are never copied out of the
// driver's buffer where that can be avoided (sql.RawBytes, or the dialect's
// rawRows); decryption copies into a fresh slice, the one allocation per
// row we cannot avoid here.
func (s *Store) stream(ctx context.Context, aad []byte, fn func([]byte) error, query string, args ...any) error {
	return s.streamWith(ctx, s.rs, aad, fn, query, args...)
}

// streamWith is stream with query prepared in stmts (nil: unprepared).
func (s *Store) streamWith(ctx context.Context, stmts *stmtCache, aad []byte, fn func([]byte) error, query string, args ...any) error {
	var buf []byte // one plaintext buffer for the whole stream; fn must not retain pb
	each := func(sealed []byte) error {
		pb, err := s.openTo(buf[:0], aad, sealed)
		if err != nil {
			return err
		}
		buf = pb
		return fn(pb)
	}
	if s.d.RawRows != nil {
		return s.d.RawRows(ctx, s.r, s.d.q(query), args, each)
	}
	var rows *sql.Rows
	var err error
	if stmts != nil {
		rows, err = stmts.query(ctx, s.d.q(query), args...)
	} else {
		rows, err = s.r.QueryContext(ctx, s.d.q(query), args...)
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	var sealed sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&sealed); err != nil {
			return err
		}
		if err := each(sealed); err != nil {
			return err
		}
	}
	return rows.Err()
}
