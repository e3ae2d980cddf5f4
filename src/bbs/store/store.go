// Package store declares the BBS's persistence contract: transactional row
// operations on desired LRPs, actual LRPs, tasks and domains, plus streaming
// reads that hand back decrypted protobuf bytes ready to splice into a response.
package store

import (
	"context"
	"errors"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/locket/record"
)

// Sentinel errors every implementation maps its driver errors onto.
var (
	// ErrNotFound: the row does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: a row with that primary key already exists.
	ErrExists = errors.New("store: already exists")
	// ErrConflict: a compare-and-swap lost (the row changed underneath).
	ErrConflict = errors.New("store: conflict")
	// ErrRetryable: a deadlock or serialization failure; Update retries these itself.
	ErrRetryable = errors.New("store: retryable transaction failure")
	// ErrUnknownKeyLabel: a stored record is sealed under a key the ring does not hold.
	ErrUnknownKeyLabel = errors.New("store: record encrypted with an unknown key label")
)

// ActualFilter selects actual LRPs; empty fields match everything.
type ActualFilter struct {
	Domain      string
	CellID      string
	ProcessGuid string
	Index       *int32
	// Range keeps the rows whose process guid it contains.
	Range GuidRange
}

// GuidRange holds the process guids from From (inclusive) up to To
// (exclusive), compared byte by byte, as the schema's collations compare
// them; an empty bound is open. Convergence reads the cluster one range at
// a time.
type GuidRange struct {
	From, To string
}

// Contains reports whether guid lies in r.
func (r GuidRange) Contains(guid string) bool {
	return (r.From == "" || guid >= r.From) && (r.To == "" || guid < r.To)
}

// DesiredFilter selects desired LRPs; empty fields match everything.
type DesiredFilter struct {
	Domain       string
	ProcessGuids []string
	// Served: EachDesiredLRP yields each desired LRP as the reference serves
	// it, metrics_guid and the source_id tag filled from each other
	// (src/bbs/store/metricsguid), not as stored.
	Served bool
	// Range keeps the desired LRPs whose process guid it contains.
	Range GuidRange
}

// TaskFilter selects tasks; empty fields match everything.
type TaskFilter struct {
	Domain string
	CellID string
}

// Store is the BBS's view of the database. Implementations must be safe for
// concurrent use.
type Store interface {
	// Update runs fn in a write transaction, retrying it (bounded) when the
	// database reports a deadlock or serialization failure. fn may run more
	// than once and must not have side effects outside tx.
	Update(ctx context.Context, fn func(tx Tx) error) error

	// Domains lists the domains that have not expired at now.
	Domains(ctx context.Context, now time.Time) ([]string, error)

	// DesiredLRP returns one desired LRP.
	DesiredLRP(ctx context.Context, processGuid string) (*models.DesiredLRP, error)
	// SchedulingInfo returns one desired LRP's scheduling info.
	SchedulingInfo(ctx context.Context, processGuid string) (*models.DesiredLRPSchedulingInfo, error)
	// EachDesiredLRP streams the protobuf encoding of every matching models.DesiredLRP.
	EachDesiredLRP(ctx context.Context, f DesiredFilter, fn func(pb []byte) error) error
	// EachSchedulingInfo streams the protobuf encoding of every matching models.DesiredLRPSchedulingInfo.
	EachSchedulingInfo(ctx context.Context, f DesiredFilter, fn func(pb []byte) error) error
	// DesiredProcessGuids lists every desired LRP's process guid, sorted
	// byte by byte.
	DesiredProcessGuids(ctx context.Context) ([]string, error)

	// ActualLRPs returns the matching actual LRPs, decoded.
	ActualLRPs(ctx context.Context, f ActualFilter) ([]*models.ActualLRP, error)
	// EachActualLRP streams the protobuf encoding of every matching models.ActualLRP.
	EachActualLRP(ctx context.Context, f ActualFilter, fn func(pb []byte) error) error

	// Task returns one task.
	Task(ctx context.Context, taskGuid string) (*models.Task, error)
	// EachTask streams the protobuf encoding of every matching models.Task.
	EachTask(ctx context.Context, f TaskFilter, fn func(pb []byte) error) error

	// Presences lists the Locket rows of the given type ("presence" or "lock").
	Presences(ctx context.Context, typ string) ([]record.Lock, error)

	// EncryptionStatus counts, per table and key label, the rows sealed under that label.
	EncryptionStatus(ctx context.Context) ([]LabelCount, error)
	// ResealBatch re-seals under the active key, in one transaction, up to
	// limit of table's rows sealed under from (table and label as in
	// EncryptionStatus); limit 0 is the store's own batch size. A row whose rev moved since it was read is skipped:
	// the concurrent write sealed it under the active key. Read 0 means no
	// row of table is left under from. The policy (src/bbs/reencrypt)
	// decides when to call it.
	ResealBatch(ctx context.Context, table, from string, limit int) (Resealed, error)
	// RecordActiveKeyLabel records the active label as the one every record
	// is sealed under (once re-encryption has nothing left to do).
	RecordActiveKeyLabel(ctx context.Context) error

	Close() error
}

// Resealed counts one ResealBatch: rows read under the old label, and rows
// rewritten under the active one.
type Resealed struct {
	Read, Rewritten int
}

// LabelCount is one line of EncryptionStatus.
type LabelCount struct {
	Table string `json:"table"`
	Label string `json:"label"`
	Rows  int64  `json:"rows"`
}

// Tx is a write transaction. Reads through Tx lock the rows they return
// (SELECT ... FOR UPDATE where the database supports it; SQLite serialises
// writers instead).
type Tx interface {
	UpsertDomain(domain string, expiresAt time.Time) error

	DesiredLRP(processGuid string) (*models.DesiredLRP, error)
	InsertDesiredLRP(d *models.DesiredLRP) error
	UpdateDesiredLRP(d *models.DesiredLRP) error
	DeleteDesiredLRP(processGuid string) error

	// ActualLRPs returns every presence of every index of processGuid, or of one index.
	ActualLRPs(processGuid string, index *int32) ([]*models.ActualLRP, error)
	InsertActualLRP(a *models.ActualLRP) error
	// InsertActualLRPs inserts many rows in few statements and returns
	// those it inserted: a row whose key (process guid, index, presence) is
	// taken is skipped, not an error. It stops with the transaction's
	// context error when the context ends between statements.
	InsertActualLRPs(as []*models.ActualLRP) ([]*models.ActualLRP, error)
	// UpdateActualLRP replaces the row keyed by (process guid, index, presence).
	UpdateActualLRP(a *models.ActualLRP) error
	DeleteActualLRP(processGuid string, index int32, presence models.ActualLRP_Presence) error

	Task(taskGuid string) (*models.Task, error)
	InsertTask(t *models.Task) error
	UpdateTask(t *models.Task) error
	DeleteTask(taskGuid string) error
}
