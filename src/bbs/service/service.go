// Package service holds the BBS controllers: each call validates its input,
// decides through the lifecycle rules inside one store transaction, and after
// commit publishes events and asks for auctions, cell stops and callbacks.
package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/lifecycle"
	"github.com/diego-go/diego/src/bbs/store"
)

// Publisher receives events after the write that caused them has committed.
type Publisher interface {
	Publish(e models.Event)
}

// LRPStartRequest asks the auctioneer to place some indices of a desired LRP.
type LRPStartRequest struct {
	SchedulingInfo *models.DesiredLRPSchedulingInfo
	Indices        []int32
}

// Auctioneer places LRP instances and tasks on cells.
type Auctioneer interface {
	RequestLRPAuctions(ctx context.Context, reqs []LRPStartRequest) error
	RequestTaskAuctions(ctx context.Context, tasks []*models.Task) error
}

// CellClient tells a cell's rep to stop an instance or cancel a task.
type CellClient interface {
	StopLRPInstance(ctx context.Context, cell *models.CellPresence, key models.ActualLRPKey, ik models.ActualLRPInstanceKey) error
	CancelTask(ctx context.Context, cell *models.CellPresence, taskGuid string) error
}

// Config wires a Service. Store and the two publishers are required.
type Config struct {
	Store      store.Store
	LRPEvents  Publisher
	TaskEvents Publisher
	// LRPGroupEvents, when set, receives the deprecated actual LRP group
	// events and the desired LRP events (the reference's /v1/events streams).
	LRPGroupEvents Publisher
	Auctioneer     Auctioneer // default: logs that no auctioneer is configured
	Cells          CellClient // default: logs that no rep client is configured
	Logger         *slog.Logger
	Now            func() time.Time
	// MaxTaskRetries: how many times a rejected task goes back to PENDING;
	// the rejection after that fails it (the reference's max_task_retries,
	// 0: the first rejection fails the task).
	MaxTaskRetries int
	// Restart decides crash restarts (default: the reference's policy).
	Restart lifecycle.RestartPolicy
	// Callbacks delivers task completion callbacks (default: a pool of 8 workers).
	Callbacks *CallbackWorkers
	// MaxInstancesPerLRP bounds a desired LRP's instances (default
	// DefaultMaxInstancesPerLRP; the BBS config's max_instances_per_lrp).
	MaxInstancesPerLRP int32
}

// DefaultMaxInstancesPerLRP is MaxInstancesPerLRP's default.
const DefaultMaxInstancesPerLRP = 20000

// Validate fills defaults and rejects missing dependencies.
func (c *Config) Validate() error {
	if c.Store == nil || c.LRPEvents == nil || c.TaskEvents == nil {
		return errors.New("service: Store, LRPEvents and TaskEvents are required")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxTaskRetries < 0 {
		return errors.New("service: MaxTaskRetries must not be negative")
	}
	if c.MaxInstancesPerLRP < 0 {
		return errors.New("service: MaxInstancesPerLRP must not be negative")
	}
	if c.MaxInstancesPerLRP == 0 {
		c.MaxInstancesPerLRP = DefaultMaxInstancesPerLRP
	}
	if c.Restart == nil {
		c.Restart = models.NewDefaultRestartCalculator()
	}
	if c.Auctioneer == nil {
		c.Auctioneer = loggingAuctioneer{log: c.Logger, once: new(sync.Once)}
	}
	if c.Cells == nil {
		c.Cells = loggingCells{c.Logger}
	}
	return nil
}

// Service implements every BBS call.
type Service struct {
	cfg Config
	log *slog.Logger
}

// New builds a Service; it starts the callback workers if none were given.
func New(cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, log: cfg.Logger}
	if s.cfg.Callbacks == nil {
		s.cfg.Callbacks = NewCallbackWorkers(8, 1024, nil, cfg.Logger)
	}
	s.cfg.Callbacks.resolving, s.cfg.Callbacks.delete = s.ResolvingTask, s.DeleteTask
	return s, nil
}

// Close stops background workers.
func (s *Service) Close() { s.cfg.Callbacks.Close() }

// Store exposes the store for streaming reads.
func (s *Service) Store() store.Store { return s.cfg.Store }

func (s *Service) now() int64 { return s.cfg.Now().UnixNano() }

// newGUID returns a random 128-bit hex id (for modification-tag epochs).
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ModelError maps any error from the service onto the reference's typed
// errors, which is what clients switch on.
func ModelError(err error) *models.Error {
	if err == nil {
		return nil
	}
	var me *models.Error
	switch {
	case errors.As(err, &me):
		return me
	case errors.Is(err, store.ErrNotFound):
		return models.ErrResourceNotFound
	case errors.Is(err, store.ErrExists):
		return models.ErrResourceExists
	case errors.Is(err, store.ErrConflict):
		return models.ErrResourceConflict
	case errors.Is(err, store.ErrRetryable):
		return models.ErrDeadlock
	case errors.Is(err, context.DeadlineExceeded):
		return models.NewError(models.Error_Timeout, err.Error())
	case errors.Is(err, store.ErrUnknownKeyLabel):
		return models.NewError(models.Error_FailedToOpenEnvelope, err.Error())
	}
	var ve models.ValidationError
	if errors.As(err, &ve) {
		return models.NewError(models.Error_InvalidRequest, err.Error())
	}
	return models.NewError(models.Error_UnknownError, err.Error())
}

// loggingAuctioneer stands in until an auctioneer is configured: it warns
// once, then logs each request at debug level.
type loggingAuctioneer struct {
	log  *slog.Logger
	once *sync.Once
}

func (l loggingAuctioneer) note(what string, n int) {
	l.once.Do(func() { l.log.Warn("no auctioneer configured: start requests are not placed until one is") })
	l.log.Debug("start request without auctioneer", "kind", what, "count", n)
}

func (l loggingAuctioneer) RequestLRPAuctions(_ context.Context, reqs []LRPStartRequest) error {
	l.note("lrp", len(reqs))
	return nil
}

func (l loggingAuctioneer) RequestTaskAuctions(_ context.Context, tasks []*models.Task) error {
	l.note("task", len(tasks))
	return nil
}

type loggingCells struct{ log *slog.Logger }

func (l loggingCells) StopLRPInstance(_ context.Context, cell *models.CellPresence, key models.ActualLRPKey, _ models.ActualLRPInstanceKey) error {
	l.log.Warn("no rep client configured: cannot stop instance", "cell", cell.CellId, "process_guid", key.ProcessGuid, "index", key.Index)
	return nil
}

func (l loggingCells) CancelTask(_ context.Context, cell *models.CellPresence, guid string) error {
	l.log.Warn("no rep client configured: cannot cancel task on cell", "cell", cell.CellId, "task_guid", guid)
	return nil
}
