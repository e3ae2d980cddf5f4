// Package locket is the Locket lock service (locks for leader election, presences for cell liveness) over a SQL lock store, speaking the reference's gRPC protocol.
package locket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"code.cloudfoundry.org/locket/models"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/diego-go/diego/src/locket/record"
)

// LockStore is the persistence Locket needs; *sqllock.Store satisfies it
// (a standalone Locket's, or the one a BBS's store embeds). Errors wrap
// record.ErrCollision, record.ErrInvalid and record.ErrNotFound.
type LockStore interface {
	AcquireLock(ctx context.Context, l record.Lock) (record.Lock, error)
	ReleaseLock(ctx context.Context, key, owner string) error
	ExpireLock(ctx context.Context, key string, modifiedIndex int64, modifiedID string) (bool, error)
	FetchLock(ctx context.Context, key string) (record.Lock, error)
	FetchLocks(ctx context.Context, typ string) ([]record.Lock, error)
	CountLocks(ctx context.Context) (map[string]int64, error)
}

// DefaultScanInterval is how often a Service re-reads every lock to arm
// expiry timers for locks written through other Locket servers (as the
// reference does). A lock whose holder and Locket server vanish together
// expires within TTL + ScanInterval of its last refresh.
const DefaultScanInterval = 5 * time.Second

// Config configures a Service.
type Config struct {
	Store LockStore
	// Logger receives the service's logs; nil discards them.
	Logger *slog.Logger
	// Registerer, when set, receives the service's Prometheus metrics.
	Registerer prometheus.Registerer
	// ScanInterval is how often every lock is re-read so that locks written
	// through another Locket server on the same database still expire when
	// that server is gone. 0 means DefaultScanInterval.
	ScanInterval time.Duration
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	if c.Store == nil {
		return errors.New("locket: config has no lock store")
	}
	if c.ScanInterval < 0 {
		return fmt.Errorf("locket: scan interval is %s; want 0 (default) or more", c.ScanInterval)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ScanInterval == 0 {
		c.ScanInterval = DefaultScanInterval
	}
	return c
}

// Service implements models.LocketServer. Every successful Lock arms an
// expiry timer for the lock's TTL; when it fires the lock is deleted only if
// it has not been written since (compare-and-delete on modified index and
// id), so several Services may share one database. It is safe for
// concurrent use.
type Service struct {
	store   LockStore
	log     *slog.Logger
	metrics *metrics
	scan    time.Duration

	ctx    context.Context // ended by Close; bounds expiries and scans
	cancel context.CancelFunc

	mu     sync.Mutex
	timers map[string]*expiry // by key
	health storeHealth
	closed bool
	wg     sync.WaitGroup // scan loop and running expiries
}

var _ models.LocketServer = (*Service)(nil)

// New starts a Service: it arms an expiry timer for every lock already in
// the store (each gets its full TTL from now, so locks outlive a Locket
// restart and still expire) and starts the periodic scan. Close stops it.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Service{
		store:  cfg.Store,
		log:    cfg.Logger.With("component", "locket"),
		scan:   cfg.ScanInterval,
		timers: map[string]*expiry{},
	}
	s.metrics = newMetrics(s.store)
	if cfg.Registerer != nil {
		if err := s.metrics.register(cfg.Registerer); err != nil {
			return nil, fmt.Errorf("locket: registering metrics: %w", err)
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	n, err := s.armAll(ctx)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("locket: arming expiry timers for existing locks: %w", err)
	}
	s.log.Info("locket service started", "existing_locks", n, "scan_interval", s.scan)
	s.wg.Add(1)
	go s.scanLoop()
	return s, nil
}

// Close stops the expiry timers and the scan and waits for running
// expiries. Locks stay in the store; a Service started later re-arms them.
func (s *Service) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for _, e := range s.timers {
		e.timer.Stop()
	}
	clear(s.timers)
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// Lock acquires or refreshes req.Resource for req.TtlInSeconds.
func (s *Service) Lock(ctx context.Context, req *models.LockRequest) (_ *models.LockResponse, err error) {
	defer s.metrics.done("Lock", time.Now(), &err)
	if req.GetResource() == nil {
		return nil, errMissingResource
	}
	r := models.GetResource(req.Resource)
	log := s.requestLog(ctx, "lock", r.Key, r.Owner)
	switch {
	case !validTypeCode(r.TypeCode):
		log.Warn("invalid lock request", "error", "invalid type", "type", req.Resource.Type, "type_code", req.Resource.TypeCode)
		return nil, models.ErrInvalidType
	case req.TtlInSeconds <= 0:
		log.Warn("invalid lock request", "error", "invalid ttl", "ttl_seconds", req.TtlInSeconds)
		return nil, models.ErrInvalidTTL
	case r.Owner == "":
		log.Warn("invalid lock request", "error", "empty owner")
		return nil, models.ErrInvalidOwner
	case r.Key == "":
		log.Warn("invalid lock request", "error", "empty key")
		return nil, errMissingKey
	}
	l, err := s.store.AcquireLock(ctx, record.Lock{Key: r.Key, Owner: r.Owner, Value: r.Value, Type: r.Type, TTLSeconds: req.TtlInSeconds})
	if err == nil || errors.Is(err, record.ErrCollision) {
		s.storeOK()
	}
	if errors.Is(err, record.ErrCollision) {
		s.metrics.collisions.Inc()
		log.Debug("lock collision")
		return nil, models.ErrLockCollision
	}
	if err != nil {
		return nil, s.storeError(ctx, log, "lock failed", err)
	}
	if s.arm(l) {
		log.Info("lock acquired", "type", l.Type, "ttl_seconds", l.TTLSeconds, "modified_index", l.ModifiedIndex)
	}
	return &models.LockResponse{}, nil
}

// Release deletes req.Resource if its owner holds it. Releasing a lock that
// does not exist succeeds, as in the reference.
func (s *Service) Release(ctx context.Context, req *models.ReleaseRequest) (_ *models.ReleaseResponse, err error) {
	defer s.metrics.done("Release", time.Now(), &err)
	if req.GetResource() == nil {
		return nil, errMissingResource
	}
	r := req.Resource
	log := s.requestLog(ctx, "release", r.Key, r.Owner)
	err = s.store.ReleaseLock(ctx, r.Key, r.Owner)
	if err == nil || errors.Is(err, record.ErrNotFound) || errors.Is(err, record.ErrCollision) {
		s.storeOK()
	}
	switch {
	case errors.Is(err, record.ErrNotFound):
		log.Debug("released lock that does not exist")
	case errors.Is(err, record.ErrCollision):
		log.Warn("release refused: lock held by another owner")
		return nil, models.ErrLockCollision
	case err != nil:
		return nil, s.storeError(ctx, log, "release failed", err)
	default:
		log.Info("lock released")
	}
	return &models.ReleaseResponse{}, nil
}

// Fetch returns the lock req.Key.
func (s *Service) Fetch(ctx context.Context, req *models.FetchRequest) (_ *models.FetchResponse, err error) {
	defer s.metrics.done("Fetch", time.Now(), &err)
	l, err := s.store.FetchLock(ctx, req.GetKey())
	if err == nil || errors.Is(err, record.ErrNotFound) {
		s.storeOK()
	}
	if errors.Is(err, record.ErrNotFound) {
		return nil, models.ErrResourceNotFound
	}
	if err != nil {
		return nil, s.storeError(ctx, s.requestLog(ctx, "fetch", req.GetKey(), ""), "fetch failed", err)
	}
	return &models.FetchResponse{Resource: resource(l)}, nil
}

// FetchAll lists the locks of the requested type (TypeCode, or the
// deprecated Type when TypeCode is unset), which must be lock or presence.
func (s *Service) FetchAll(ctx context.Context, req *models.FetchAllRequest) (_ *models.FetchAllResponse, err error) {
	defer s.metrics.done("FetchAll", time.Now(), &err)
	r := models.GetResource(&models.Resource{Type: req.GetType(), TypeCode: req.GetTypeCode()})
	if !validTypeCode(r.TypeCode) {
		return nil, models.ErrInvalidType
	}
	locks, err := s.store.FetchLocks(ctx, r.Type)
	if err != nil {
		return nil, s.storeError(ctx, s.requestLog(ctx, "fetch all", "", ""), "fetch all failed", err)
	}
	s.storeOK()
	resp := &models.FetchAllResponse{Resources: make([]*models.Resource, len(locks))}
	for i, l := range locks {
		resp.Resources[i] = resource(l)
	}
	return resp, nil
}

var (
	errMissingResource = status.Error(codes.InvalidArgument, "missing-resource")
	errMissingKey      = status.Error(codes.InvalidArgument, "invalid-key")
)

func validTypeCode(c models.TypeCode) bool { return c == models.LOCK || c == models.PRESENCE }

func resource(l record.Lock) *models.Resource {
	return &models.Resource{Key: l.Key, Owner: l.Owner, Value: l.Value, Type: l.Type, TypeCode: models.GetTypeCode(l.Type)}
}

// storeError maps a store failure to a gRPC status: the caller's own
// cancellation or deadline as such, an invalid lock as InvalidArgument, and
// anything else as Unavailable (logged; the detail stays in the log).
func (s *Service) storeError(ctx context.Context, log *slog.Logger, msg string, err error) error {
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	if errors.Is(err, record.ErrInvalid) {
		log.Warn("invalid lock request", "error", err)
		return status.Error(codes.InvalidArgument, err.Error())
	}
	log.Error(msg, "error", err)
	s.storeFailed(err)
	return status.Error(codes.Unavailable, "lock store unavailable")
}

// requestLog carries the request's key, owner and (when the client sent
// one, as the reference's lock runner does) its uuid.
func (s *Service) requestLog(ctx context.Context, op, key, owner string) *slog.Logger {
	args := []any{"op", op, "key", key}
	if owner != "" {
		args = append(args, "owner", owner)
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if id := md.Get("uuid"); len(id) > 0 {
			args = append(args, "request_uuid", id[0])
		}
	}
	return s.log.With(args...)
}
