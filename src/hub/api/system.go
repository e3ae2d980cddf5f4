package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/diego-go/diego/src/hub/view"
)

// System is GET /api/system.
type System struct {
	Locks      []view.Lock `json:"locks"`
	Presences  int         `json:"presences"`
	Components []Component `json:"components"`
	UpdatedAt  time.Time   `json:"updated_at"`
}

// Component is one control-plane component's health and figures.
type Component struct {
	Name    string             `json:"name"`
	Healthy bool               `json:"healthy"`
	Error   string             `json:"error,omitempty"`
	Metrics map[string]float64 `json:"metrics"`
}

// Rotation is GET /api/rotation.
type Rotation struct {
	ActiveKey  string        `json:"active_key"`
	Keys       []RotationKey `json:"keys"`
	InProgress bool          `json:"in_progress"`
	Progress   Progress      `json:"progress"`
	LastError  string        `json:"last_error,omitempty"`
	// Error says why the status could not be read ("" when it was).
	Error     string    `json:"error,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// RotationKey is one encryption key label and the rows it encrypts.
type RotationKey struct {
	Label string `json:"label"`
	Rows  int64  `json:"rows"`
}

// Progress is a re-encryption's rows done of total.
type Progress struct {
	Done  int64 `json:"done"`
	Total int64 `json:"total"`
}

// meanOf names the figures the system view shows as means, by the
// histogram they come from: the BBS's convergence passes and the
// auctioneer's rounds.
var meanOf = map[string]string{
	"convergence_seconds_mean":   "bbs_convergence_duration_seconds",
	"auction_round_seconds_mean": "auctioneer_auction_duration_seconds",
}

// lockOwner is the Locket lock each component holds while active.
var lockOwner = map[string]string{"bbs": "bbs", "auctioneer": "auctioneer"}

func (h *Hub) readSystem(ctx context.Context) {
	locks, presences, lockErr := h.fetchLocks(ctx)
	h.mu.Lock()
	h.in.Locks = locks
	bbsErr := h.bbsErr
	h.mu.Unlock()
	held := map[string]bool{}
	for _, l := range locks {
		held[l.Key] = true
	}
	names := map[string]bool{"bbs": true, "locket": true, "auctioneer": true}
	for n := range h.o.MetricsURLs {
		names[n] = true
	}
	var comps []Component
	for _, n := range sortedNames(names) {
		c := Component{Name: n, Healthy: true, Metrics: map[string]float64{}}
		switch {
		case n == "bbs" && bbsErr != nil:
			c.Healthy, c.Error = false, bbsErr.Error()
		case n == "locket" && lockErr != nil:
			c.Healthy, c.Error = false, lockErr.Error()
		case lockOwner[n] != "" && lockErr == nil && !held[lockOwner[n]]:
			c.Healthy, c.Error = false, "no "+n+" holds the "+lockOwner[n]+" lock"
		}
		if u := h.o.MetricsURLs[n]; u != "" {
			if m, err := h.scrape(ctx, n, u); err != nil {
				c.Error = strings.TrimPrefix(c.Error+"; ", "; ") + err.Error()
			} else {
				c.Metrics = m
			}
		}
		comps = append(comps, c)
	}
	h.system.Store(&System{Locks: locks, Presences: presences, Components: comps, UpdatedAt: h.o.Now().UTC()})
}

func sortedNames(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// scrape reads a Prometheus endpoint and picks the figures the system view
// shows; request rates come from the previous scrape.
func (h *Hub) scrape(ctx context.Context, name, url string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := h.o.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: %s answered HTTP %d", url, resp.StatusCode)
	}
	values := view.ParseMetrics(io.LimitReader(resp.Body, 16<<20))
	now := h.o.Now()
	h.mu.Lock()
	prev := h.metrics[name]
	h.metrics[name] = scrape{at: now, values: values}
	h.mu.Unlock()
	out := map[string]float64{}
	// Summaries with a median (other exporters), then this project's
	// histograms (bbs, auctioneer), whose buckets are too coarse for a
	// median of a local cluster's millisecond rounds: their mean since the
	// previous scrape instead.
	if v, ok := view.Pick(values, "convergence", "seconds", "_p50"); ok {
		out["convergence_seconds_p50"] = v
	}
	if v, ok := view.Pick(values, "auction", "seconds", "_p50"); ok {
		out["auction_round_seconds_p50"] = v
	}
	for key, hist := range meanOf {
		if v, ok := view.Mean(prev.values, values, hist); ok {
			out[key] = v
		}
	}
	if prev.values != nil {
		secs := now.Sub(prev.at).Seconds()
		out["requests_per_second"] = view.Rate(prev.values, values, "requests_total", secs) +
			view.Rate(prev.values, values, "_requested_total", secs)
	}
	if v, ok := values["go_goroutines"]; ok {
		out["goroutines"] = v
	}
	return out, nil
}

// readRotation reads the BBS admin encryption status (it needs a client
// certificate whose common name is one of the BBS's admin_common_names).
func (h *Hub) readRotation(ctx context.Context) {
	r := &Rotation{Keys: []RotationKey{}, UpdatedAt: h.o.Now().UTC()}
	defer func() { h.rotation.Store(r) }()
	var lastErr error
	for _, base := range strings.Split(h.o.BBSURL, ",") {
		st, err := h.encryptionStatus(ctx, strings.TrimSpace(base))
		if err != nil {
			lastErr = err
			continue
		}
		r.ActiveKey, r.InProgress, r.LastError = st.ActiveLabel, st.Running, st.LastError
		rows := map[string]int64{}
		for _, c := range st.Counts {
			rows[c.Label] += c.Rows
		}
		for _, l := range st.Labels {
			if _, ok := rows[l]; !ok {
				rows[l] = 0
			}
		}
		for _, l := range slices.Sorted(maps.Keys(rows)) {
			r.Keys = append(r.Keys, RotationKey{Label: l, Rows: rows[l]})
		}
		r.Progress = Progress{Done: st.RowsReencrypted, Total: st.RowsReencrypted + st.PendingRows}
		return
	}
	if lastErr != nil {
		r.Error = lastErr.Error()
	}
}

// encryptionStatus is the BBS's GET /v1/admin/encryption/status answer.
type encryptionStatus struct {
	ActiveLabel     string   `json:"active_label"`
	Labels          []string `json:"labels"`
	Running         bool     `json:"reencryption_running"`
	RowsReencrypted int64    `json:"rows_reencrypted"`
	PendingRows     int64    `json:"pending_rows"`
	LastError       string   `json:"last_error"`
	Counts          []struct {
		Label string `json:"label"`
		Rows  int64  `json:"rows"`
	} `json:"counts"`
}

func (h *Hub) encryptionStatus(ctx context.Context, base string) (encryptionStatus, error) {
	var st encryptionStatus
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/v1/admin/encryption/status", nil)
	if err != nil {
		return st, err
	}
	resp, err := h.o.HTTP.Do(req)
	if err != nil {
		return st, fmt.Errorf("BBS encryption status: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return st, err
	}
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("BBS encryption status: HTTP %d: %s (the Hub's client certificate must have a common name in the BBS's admin_common_names)", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, fmt.Errorf("BBS encryption status: %w", err)
	}
	return st, nil
}
