package sqlstore

import (
	"errors"
	"fmt"
	"strings"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/store"
)

// actualsPerStatement is how many actual LRP rows one INSERT carries: 10
// placeholders each, far below SQLite's 32,766 and PostgreSQL's 65,535
// (modernc's SQLite binds in time quadratic in the placeholders, so 100
// rows per statement cost more CPU than 50).
const actualsPerStatement = 50

const actualColumns = "(process_guid, instance_index, presence, domain, state, cell_id, instance_guid, since, key_label, rev, payload)"

// InsertActualLRPs inserts as in multi-row statements. A statement that
// meets a taken key (an error on SQLite and MySQL, which undo the whole
// statement; fewer rows affected on PostgreSQL, which keeps the others) is
// redone row by row, keeping the rows that went in and skipping the taken
// keys. The context is checked between statements.
func (t *tx) InsertActualLRPs(as []*models.ActualLRP) ([]*models.ActualLRP, error) {
	out := make([]*models.ActualLRP, 0, len(as))
	for lo := 0; lo < len(as); lo += actualsPerStatement {
		if err := t.ctx.Err(); err != nil {
			return nil, fmt.Errorf("insert actual lrps: stopped after %d of %d rows: %w", lo, len(as), err)
		}
		batch := as[min(lo, len(as)):min(lo+actualsPerStatement, len(as))]
		inserted, err := t.insertBatch(batch)
		if err != nil {
			return nil, err
		}
		out = append(out, inserted...)
	}
	return out, nil
}

func (t *tx) insertBatch(batch []*models.ActualLRP) ([]*models.ActualLRP, error) {
	var q strings.Builder
	q.WriteString("INSERT INTO actual_lrps " + actualColumns + " VALUES ")
	args := make([]any, 0, 10*len(batch))
	for i, a := range batch {
		payload, label, err := t.sealActual(a)
		if err != nil {
			return nil, fmt.Errorf("insert actual lrps: %w", err)
		}
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)")
		args = append(args, a.ProcessGuid, a.Index, int32(a.Presence), a.Domain, a.State, a.CellId, a.InstanceGuid, a.Since, label, payload)
	}
	q.WriteString(t.s.d.insertSuffix)
	// Unprepared: the statement's text varies with the batch's length.
	res, err := t.tx.ExecContext(t.ctx, t.s.d.q(q.String()), args...)
	err = t.s.d.wrap(err)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == int64(len(batch)) {
			return batch, nil
		}
	}
	if err != nil && !errors.Is(err, store.ErrExists) {
		return nil, fmt.Errorf("insert %d actual lrps of %q: %w", len(batch), batch[0].ProcessGuid, err)
	}
	return t.insertEach(batch)
}

// insertEach is the slow path of a batch that met taken keys: a row is
// kept when the stored row is this one (same epoch: the batch inserted it),
// skipped when another row holds its key, and inserted when its key is free.
func (t *tx) insertEach(batch []*models.ActualLRP) ([]*models.ActualLRP, error) {
	var out []*models.ActualLRP
	for _, a := range batch {
		sealed, err := t.queryOne("SELECT payload FROM actual_lrps WHERE process_guid = ? AND instance_index = ? AND presence = ?",
			a.ProcessGuid, a.Index, int32(a.Presence))
		switch {
		case err == nil:
			var stored models.ActualLRP
			if err := t.s.decode(aadActualLRP, sealed, &stored); err != nil {
				return nil, fmt.Errorf("insert actual lrps: reading %s/%d: %w", a.ProcessGuid, a.Index, err)
			}
			if stored.ModificationTag.Epoch == a.ModificationTag.Epoch {
				out = append(out, a)
			}
		case errors.Is(err, store.ErrNotFound):
			switch err := t.InsertActualLRP(a); {
			case err == nil:
				out = append(out, a)
			case !errors.Is(err, store.ErrExists):
				return nil, err
			}
		default:
			return nil, fmt.Errorf("insert actual lrps: reading %s/%d: %w", a.ProcessGuid, a.Index, err)
		}
	}
	return out, nil
}
