// Package api serves the rep's HTTP API over a cell ledger: the network handler the auctioneer and BBS call, and the local handler for ping and evacuation.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/rep/cell"
)

// MaxBodyBytes bounds the size of a request body.
const MaxBodyBytes = 16 << 20

// ErrNotFound is what a Stopper returns (wrapped) when there is no such
// instance or task; the handler then answers 404.
var ErrNotFound = errors.New("api: not found")

// Stopper stops LRP instances and cancels tasks running on the cell.
type Stopper interface {
	StopLRPInstance(ctx context.Context, processGuid, instanceGuid string) error
	CancelTask(ctx context.Context, taskGuid string) error
}

// Evacuator starts the cell's evacuation; it must return promptly.
type Evacuator interface {
	Evacuate(ctx context.Context)
}

// MetricsProvider reports the cell's container metrics.
type MetricsProvider interface {
	ContainerMetrics(ctx context.Context) (rep.ContainerMetricsCollection, error)
}

// Config is what the network handler serves.
type Config struct {
	Ledger  *cell.Ledger
	Stopper Stopper
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OnReserved, if set, is called with the work the ledger accepted on
	// POST /work, before the answer is written (the daemon starts the
	// containers from here).
	OnReserved func(ctx context.Context, accepted rep.Work)
	// Metrics, if set, serves GET /container_metrics.
	Metrics MetricsProvider
}

type handler struct {
	cfg Config

	// The last /state body and the ledger generation it shows: the
	// auctioneer asks every cell for its state every round, mostly between
	// changes.
	stateMu   sync.Mutex
	stateGen  uint64 // guarded by stateMu
	stateBody []byte // guarded by stateMu; nil until the first request

	// boot tells this handler's generations from an earlier process's:
	// ETags are boot and generation, and a restarted rep counts again
	// from 0.
	boot string
}

// NewHandler returns the network-accessible rep API: GET /state, POST /work,
// POST /v1/lrps/{process_guid}/instances/{instance_guid}/stop,
// POST /v1/tasks/{task_guid}/cancel and GET /container_metrics. Mutual TLS
// is the caller's business.
func NewHandler(cfg Config) (http.Handler, error) {
	if cfg.Ledger == nil {
		return nil, errors.New("api: nil ledger")
	}
	if cfg.Stopper == nil {
		return nil, errors.New("api: nil stopper")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	h := &handler{cfg: cfg, boot: hex.EncodeToString(b[:])}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /state", h.state)
	mux.HandleFunc("POST /work", h.perform)
	mux.HandleFunc("POST /v1/lrps/{process_guid}/instances/{instance_guid}/stop", h.stopLRP)
	mux.HandleFunc("POST /v1/tasks/{task_guid}/cancel", h.cancelTask)
	if cfg.Metrics != nil {
		mux.HandleFunc("GET /container_metrics", h.containerMetrics)
	}
	return mux, nil
}

// state answers GET /state with the ledger's state as JSON and an ETag
// naming its generation. A request whose If-None-Match names the current
// one is answered 304 with no body: the auctioneer asks every cell every
// round, and most have not changed since its last ask (the reference
// client sends no If-None-Match and always gets the body).
func (h *handler) state(w http.ResponseWriter, r *http.Request) {
	body, gen, err := h.stateJSON()
	if err != nil {
		httpError(w, http.StatusInternalServerError, fmt.Errorf("encoding response: %w", err))
		return
	}
	etag := h.stateETag(gen)
	w.Header().Set("ETag", etag)
	if matchesETag(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// Announced, the length lets the auctioneer read the body into one
	// buffer of its size; otherwise net/http chunks a body this large.
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// stateETag is the strong entity tag of the state at generation gen.
func (h *handler) stateETag(gen uint64) string {
	return `"` + h.boot + "-" + strconv.FormatUint(gen, 10) + `"`
}

// matchesETag reports whether an If-None-Match header names etag (or is
// "*"); weak tags compare by their opaque part, as RFC 9110 says for
// If-None-Match.
func matchesETag(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
			return true
		}
	}
	return false
}

// stateJSON is the ledger's state encoded and its generation, encoded
// again only when the ledger's generation has moved since the last time.
func (h *handler) stateJSON() ([]byte, uint64, error) {
	h.stateMu.Lock()
	defer h.stateMu.Unlock()
	if h.stateBody != nil && h.cfg.Ledger.Generation() == h.stateGen {
		return h.stateBody, h.stateGen, nil
	}
	body, gen, err := h.cfg.Ledger.StateJSON(h.cfg.Now())
	if err != nil {
		return nil, 0, err
	}
	h.stateBody, h.stateGen = body, gen
	return body, gen, nil
}

// perform reserves what fits of the posted rep.Work and answers 200 with the
// rejected rep.Work, as the reference rep does.
func (h *handler) containerMetrics(w http.ResponseWriter, r *http.Request) {
	m, err := h.cfg.Metrics.ContainerMetrics(r.Context())
	if err != nil {
		httpError(w, http.StatusInternalServerError, fmt.Errorf("collecting container metrics: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, m)
}

func (h *handler) perform(w http.ResponseWriter, r *http.Request) {
	var work rep.Work
	if err := decode(w, r, &work); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("work body exceeds %d bytes: send fewer LRPs and tasks per request", MaxBodyBytes))
			return
		}
		httpError(w, http.StatusBadRequest, fmt.Errorf("decoding work: %w", err))
		return
	}
	if err := validateWork(work); err != nil {
		httpError(w, http.StatusBadRequest, fmt.Errorf("invalid work: %w", err))
		return
	}
	if id := h.cfg.Ledger.CellID(); work.CellID != "" && work.CellID != id {
		httpError(w, http.StatusConflict, fmt.Errorf("work is for cell %q, this is cell %q", work.CellID, id))
		return
	}
	accepted, rejected := h.cfg.Ledger.Reserve(work, h.cfg.Now())
	if h.cfg.OnReserved != nil && len(accepted.LRPs)+len(accepted.Tasks) > 0 {
		h.cfg.OnReserved(r.Context(), accepted)
	}
	writeJSON(w, http.StatusOK, rejected)
}

func (h *handler) stopLRP(w http.ResponseWriter, r *http.Request) {
	pg, ig := r.PathValue("process_guid"), r.PathValue("instance_guid")
	if pg == "" || ig == "" {
		httpError(w, http.StatusBadRequest, errors.New("process_guid and instance_guid are required"))
		return
	}
	h.delegate(w, h.cfg.Stopper.StopLRPInstance(r.Context(), pg, ig),
		fmt.Sprintf("stopping LRP instance %s/%s", pg, ig))
}

func (h *handler) cancelTask(w http.ResponseWriter, r *http.Request) {
	tg := r.PathValue("task_guid")
	if tg == "" {
		httpError(w, http.StatusBadRequest, errors.New("task_guid is required"))
		return
	}
	h.delegate(w, h.cfg.Stopper.CancelTask(r.Context(), tg), "cancelling task "+tg)
}

// delegate answers 202 on success, 404 for ErrNotFound and 500 otherwise.
func (h *handler) delegate(w http.ResponseWriter, err error, what string) {
	switch {
	case err == nil:
		w.WriteHeader(http.StatusAccepted)
	case errors.Is(err, ErrNotFound):
		httpError(w, http.StatusNotFound, fmt.Errorf("%s: %w", what, err))
	default:
		httpError(w, http.StatusInternalServerError, fmt.Errorf("%s: %w", what, err))
	}
}

// NewLocalHandler returns the localhost-only rep API: GET /ping answers 200 and
// POST /evacuate starts evacuation and answers 202 with {"ping_path":"/ping"}.
func NewLocalHandler(ev Evacuator) (http.Handler, error) {
	if ev == nil {
		return nil, errors.New("api: nil evacuator")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("POST /evacuate", func(w http.ResponseWriter, r *http.Request) {
		ev.Evacuate(r.Context())
		writeJSON(w, http.StatusAccepted, map[string]string{"ping_path": "/ping"})
	})
	return mux, nil
}

func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err := dec.Decode(v); err != nil {
		return err
	}
	// dec.More would miss a stray '}' or ']': only the end of the body will do.
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		httpError(w, http.StatusInternalServerError, fmt.Errorf("encoding response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func httpError(w http.ResponseWriter, status int, err error) {
	http.Error(w, err.Error(), status)
}
