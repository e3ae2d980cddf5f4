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
)

// tx implements store.Tx over one database transaction on the writer.
type tx struct {
	ctx context.Context
	s   *Store
	tx  *sql.Tx
}

var _ store.Tx = (*tx)(nil)

func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	q := t.s.d.q(query)
	var (
		res sql.Result
		err error
	)
	if st := t.s.ws.inTx(t.ctx, t.tx, q); st != nil {
		res, err = st.ExecContext(t.ctx, args...)
	} else {
		res, err = t.tx.ExecContext(t.ctx, q, args...)
	}
	return res, t.s.d.wrap(err)
}

// queryRow reads one row in the transaction, prepared once per connection.
func (t *tx) queryRow(query string, args ...any) *sql.Row {
	q := t.s.d.q(query)
	if st := t.s.ws.inTx(t.ctx, t.tx, q); st != nil {
		return st.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, q, args...)
}

// query runs a read in the transaction, prepared once per connection.
func (t *tx) query(query string, args ...any) (*sql.Rows, error) {
	q := t.s.d.q(query)
	if st := t.s.ws.inTx(t.ctx, t.tx, q); st != nil {
		return st.QueryContext(t.ctx, args...)
	}
	return t.tx.QueryContext(t.ctx, q, args...)
}

// execOne runs a write that must touch exactly one row; zero rows means
// missing (for UPDATE and DELETE) or a duplicate key (for INSERT with the
// dialect's conflict-ignoring suffix), reported as ifNone.
func (t *tx) execOne(ifNone error, query string, args ...any) error {
	n, err := sqldb.Affected(t.exec(query, args...))
	if err != nil {
		return err
	}
	if n == 0 {
		return ifNone
	}
	return nil
}

// queryOne reads one sealed column of one row, locking it where supported.
func (t *tx) queryOne(query string, args ...any) ([]byte, error) {
	var sealed []byte
	err := t.queryRow(query+t.s.d.forUpdate, args...).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return sealed, t.s.d.wrap(err)
}

func (t *tx) UpsertDomain(domain string, expiresAt time.Time) error {
	if domain == "" {
		return errors.New("upsert domain: domain is empty")
	}
	if _, err := t.exec(t.s.d.upsert("domains", "domain", "expires_at"), domain, unixNano(expiresAt)); err != nil {
		return fmt.Errorf("upsert domain %q: %w", domain, err)
	}
	return nil
}

// unixNano is expires_at's encoding: 0 for "never".
func unixNano(at time.Time) int64 {
	if at.IsZero() {
		return 0
	}
	return at.UnixNano()
}

func (t *tx) DesiredLRP(processGuid string) (*models.DesiredLRP, error) {
	sealed, err := t.queryOne("SELECT desired_lrp FROM desired_lrps WHERE process_guid = ?", processGuid)
	return decodeRow[models.DesiredLRP](t.s, aadDesiredLRP, sealed, err, "desired lrp", processGuid)
}

func (t *tx) sealDesired(d *models.DesiredLRP) (info, full []byte, label string, err error) {
	if d == nil || d.ProcessGuid == "" {
		return nil, nil, "", errors.New("desired lrp has no process guid")
	}
	si := d.DesiredLRPSchedulingInfo()
	return t.s.sealPair(aadSchedulingInfo, &si, aadDesiredLRP, d)
}

func (t *tx) InsertDesiredLRP(d *models.DesiredLRP) error {
	info, full, label, err := t.sealDesired(d)
	if err != nil {
		return fmt.Errorf("insert desired lrp: %w", err)
	}
	err = t.execOne(store.ErrExists,
		"INSERT INTO desired_lrps (process_guid, domain, key_label, rev, scheduling_info, desired_lrp) VALUES (?, ?, ?, 1, ?, ?)"+t.s.d.insertSuffix,
		d.ProcessGuid, d.Domain, label, info, full)
	if err != nil {
		return fmt.Errorf("insert desired lrp %q: %w", d.ProcessGuid, err)
	}
	return nil
}

func (t *tx) UpdateDesiredLRP(d *models.DesiredLRP) error {
	info, full, label, err := t.sealDesired(d)
	if err != nil {
		return fmt.Errorf("update desired lrp: %w", err)
	}
	err = t.execOne(store.ErrNotFound,
		"UPDATE desired_lrps SET domain = ?, key_label = ?, rev = rev + 1, scheduling_info = ?, desired_lrp = ? WHERE process_guid = ?",
		d.Domain, label, info, full, d.ProcessGuid)
	if err != nil {
		return fmt.Errorf("update desired lrp %q: %w", d.ProcessGuid, err)
	}
	return nil
}

func (t *tx) DeleteDesiredLRP(processGuid string) error {
	if err := t.execOne(store.ErrNotFound, "DELETE FROM desired_lrps WHERE process_guid = ?", processGuid); err != nil {
		return fmt.Errorf("delete desired lrp %q: %w", processGuid, err)
	}
	return nil
}

func (t *tx) ActualLRPs(processGuid string, index *int32) ([]*models.ActualLRP, error) {
	query := "SELECT payload FROM actual_lrps WHERE process_guid = ?"
	args := []any{processGuid}
	if index != nil {
		query += " AND instance_index = ?"
		args = append(args, *index)
	}
	query += " ORDER BY process_guid, instance_index, presence" + t.s.d.forUpdate
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("actual lrps %q: %w", processGuid, t.s.d.wrap(err))
	}
	defer rows.Close()
	var out []*models.ActualLRP
	for rows.Next() {
		var sealed sql.RawBytes
		if err := rows.Scan(&sealed); err != nil {
			return nil, fmt.Errorf("actual lrps %q: %w", processGuid, err)
		}
		a := new(models.ActualLRP)
		if err := t.s.decode(aadActualLRP, sealed, a); err != nil {
			return nil, fmt.Errorf("actual lrps %q: %w", processGuid, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("actual lrps %q: %w", processGuid, t.s.d.wrap(err))
	}
	return out, nil
}

func (t *tx) sealActual(a *models.ActualLRP) ([]byte, string, error) {
	if a == nil || a.ProcessGuid == "" {
		return nil, "", errors.New("actual lrp has no process guid")
	}
	return t.s.seal(aadActualLRP, a)
}

func (t *tx) InsertActualLRP(a *models.ActualLRP) error {
	payload, label, err := t.sealActual(a)
	if err != nil {
		return fmt.Errorf("insert actual lrp: %w", err)
	}
	err = t.execOne(store.ErrExists,
		"INSERT INTO actual_lrps (process_guid, instance_index, presence, domain, state, cell_id, instance_guid, since, key_label, rev, payload)"+
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)"+t.s.d.insertSuffix,
		a.ProcessGuid, a.Index, int32(a.Presence), a.Domain, a.State, a.CellId, a.InstanceGuid, a.Since, label, payload)
	if err != nil {
		return fmt.Errorf("insert actual lrp %s/%d/%s: %w", a.ProcessGuid, a.Index, a.Presence, err)
	}
	return nil
}

func (t *tx) UpdateActualLRP(a *models.ActualLRP) error {
	payload, label, err := t.sealActual(a)
	if err != nil {
		return fmt.Errorf("update actual lrp: %w", err)
	}
	err = t.execOne(store.ErrNotFound,
		"UPDATE actual_lrps SET domain = ?, state = ?, cell_id = ?, instance_guid = ?, since = ?, key_label = ?, rev = rev + 1, payload = ?"+
			" WHERE process_guid = ? AND instance_index = ? AND presence = ?",
		a.Domain, a.State, a.CellId, a.InstanceGuid, a.Since, label, payload, a.ProcessGuid, a.Index, int32(a.Presence))
	if err != nil {
		return fmt.Errorf("update actual lrp %s/%d/%s: %w", a.ProcessGuid, a.Index, a.Presence, err)
	}
	return nil
}

func (t *tx) DeleteActualLRP(processGuid string, index int32, presence models.ActualLRP_Presence) error {
	err := t.execOne(store.ErrNotFound,
		"DELETE FROM actual_lrps WHERE process_guid = ? AND instance_index = ? AND presence = ?",
		processGuid, index, int32(presence))
	if err != nil {
		return fmt.Errorf("delete actual lrp %s/%d/%s: %w", processGuid, index, presence, err)
	}
	return nil
}

func (t *tx) Task(taskGuid string) (*models.Task, error) {
	sealed, err := t.queryOne("SELECT payload FROM tasks WHERE task_guid = ?", taskGuid)
	return decodeRow[models.Task](t.s, aadTask, sealed, err, "task", taskGuid)
}

func (t *tx) sealTask(task *models.Task) ([]byte, string, error) {
	if task == nil || task.TaskGuid == "" {
		return nil, "", errors.New("task has no guid")
	}
	return t.s.seal(aadTask, task)
}

func (t *tx) InsertTask(task *models.Task) error {
	payload, label, err := t.sealTask(task)
	if err != nil {
		return fmt.Errorf("insert task: %w", err)
	}
	err = t.execOne(store.ErrExists,
		"INSERT INTO tasks (task_guid, domain, state, cell_id, created_at, updated_at, first_completed_at, key_label, rev, payload)"+
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)"+t.s.d.insertSuffix,
		task.TaskGuid, task.Domain, int32(task.State), task.CellId, task.CreatedAt, task.UpdatedAt, task.FirstCompletedAt, label, payload)
	if err != nil {
		return fmt.Errorf("insert task %q: %w", task.TaskGuid, err)
	}
	return nil
}

func (t *tx) UpdateTask(task *models.Task) error {
	payload, label, err := t.sealTask(task)
	if err != nil {
		return fmt.Errorf("update task: %w", err)
	}
	err = t.execOne(store.ErrNotFound,
		"UPDATE tasks SET domain = ?, state = ?, cell_id = ?, created_at = ?, updated_at = ?, first_completed_at = ?, key_label = ?, rev = rev + 1, payload = ?"+
			" WHERE task_guid = ?",
		task.Domain, int32(task.State), task.CellId, task.CreatedAt, task.UpdatedAt, task.FirstCompletedAt, label, payload, task.TaskGuid)
	if err != nil {
		return fmt.Errorf("update task %q: %w", task.TaskGuid, err)
	}
	return nil
}

func (t *tx) DeleteTask(taskGuid string) error {
	if err := t.execOne(store.ErrNotFound, "DELETE FROM tasks WHERE task_guid = ?", taskGuid); err != nil {
		return fmt.Errorf("delete task %q: %w", taskGuid, err)
	}
	return nil
}
