package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/hub/view"
)

// actionRequest is an action's body.
type actionRequest struct {
	Confirm   bool   `json:"confirm"`
	Instances *int32 `json:"instances"`
}

// doer performs one action, returning what it did (for people) and the
// timeline item's subject.
type doer func(ctx context.Context, r *http.Request, req actionRequest) (msg string, subject view.Item, status int, err error)

// action wraps an action with the CSRF guard, the confirmation and the
// audit log.
func (h *Hub) action(do doer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Hub-Action") != "1" {
			writeError(w, http.StatusForbidden, "actions need the header X-Hub-Action: 1 (a guard against cross-site requests)")
			return
		}
		var req actionRequest
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
			writeError(w, http.StatusBadRequest, "the body must be JSON like {\"confirm\": true}: "+err.Error())
			return
		}
		if !req.Confirm {
			writeError(w, http.StatusBadRequest, `confirm the action: send {"confirm": true}`)
			return
		}
		who := Who(r.Context())
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		msg, it, status, err := do(ctx, r, req)
		outcome := "ok"
		if err != nil {
			outcome = err.Error()
		}
		h.audit(who, r.Method+" "+r.URL.Path, msg, outcome)
		if err != nil {
			writeError(w, status, err.Error())
			return
		}
		it.Time, it.Kind, it.Message = h.o.Now().UTC(), view.KindAction, who+": "+msg
		h.addItems([]view.Item{it})
		h.markDirty()
		select { // cells and locks: read them again now
		case h.pollNow <- struct{}{}:
		default:
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "message": msg})
	}
}

// audit logs an action with who did it, to slog and the audit file.
func (h *Hub) audit(who, request, msg, outcome string) {
	h.o.Log.Info("hub.action", "who", who, "request", request, "action", msg, "outcome", outcome)
	if h.o.Audit == nil {
		return
	}
	line, _ := json.Marshal(map[string]string{"time": h.o.Now().UTC().Format(time.RFC3339Nano), "who": who,
		"request": request, "action": msg, "outcome": outcome})
	h.auditMu.Lock()
	defer h.auditMu.Unlock()
	if _, err := h.o.Audit.Write(append(line, '\n')); err != nil {
		h.o.Log.Error("hub.audit-write-failed", "err", err)
	}
}

// bbsStatus maps a BBS error onto an HTTP status.
func bbsStatus(err error) int {
	if models.ConvertError(err).Type == models.Error_ResourceNotFound {
		return http.StatusNotFound
	}
	return http.StatusBadGateway
}

func (h *Hub) scale(_ context.Context, r *http.Request, req actionRequest) (string, view.Item, int, error) {
	guid := r.PathValue("guid")
	it := view.Item{ProcessGuid: guid}
	if req.Instances == nil || *req.Instances < 0 {
		return "", it, http.StatusBadRequest, errors.New(`say how many instances: {"instances": N, "confirm": true} with N >= 0`)
	}
	u := &models.DesiredLRPUpdate{}
	u.SetInstances(*req.Instances)
	msg := fmt.Sprintf("scale %s to %d instances", guid, *req.Instances)
	if err := h.o.BBS.UpdateDesiredLRP(quiet, "", guid, u); err != nil {
		return msg, it, bbsStatus(err), fmt.Errorf("scaling %s: %w", guid, err)
	}
	return msg, it, 0, nil
}

func (h *Hub) retire(_ context.Context, r *http.Request, _ actionRequest) (string, view.Item, int, error) {
	guid := r.PathValue("guid")
	it := view.Item{ProcessGuid: guid}
	index, err := strconv.ParseInt(r.PathValue("index"), 10, 32)
	if err != nil || index < 0 {
		return "", it, http.StatusBadRequest, errors.New("the instance index must be a whole number from 0")
	}
	i := int32(index)
	it.Index = &i
	a, ok := h.View().App(guid)
	if !ok {
		return "", it, http.StatusNotFound, fmt.Errorf("no desired LRP %s", guid)
	}
	msg := fmt.Sprintf("retire %s/%d", guid, index)
	key := models.NewActualLRPKey(guid, i, a.Domain)
	if err := h.o.BBS.RetireActualLRP(quiet, "", &key); err != nil {
		return msg, it, bbsStatus(err), fmt.Errorf("retiring %s/%d: %w", guid, index, err)
	}
	return msg, it, 0, nil
}

func (h *Hub) drain(ctx context.Context, r *http.Request, _ actionRequest) (string, view.Item, int, error) {
	cell := r.PathValue("cell")
	it := view.Item{CellID: cell}
	base, ok := h.o.CellLocalURLs[cell]
	if !ok {
		return "", it, http.StatusNotFound, fmt.Errorf("cannot drain %s from the Hub: its rep's local API is not in cell_local_urls (run POST /evacuate on the cell itself)", cell)
	}
	msg := "drain (evacuate) cell " + cell
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/evacuate", nil)
	if err != nil {
		return msg, it, http.StatusInternalServerError, err
	}
	resp, err := h.o.HTTP.Do(req)
	if err != nil {
		return msg, it, http.StatusBadGateway, fmt.Errorf("draining %s: %w", cell, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return msg, it, http.StatusBadGateway, fmt.Errorf("draining %s: the rep answered HTTP %d: %s", cell, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return msg, it, 0, nil
}

func (h *Hub) cancel(_ context.Context, r *http.Request, _ actionRequest) (string, view.Item, int, error) {
	guid := r.PathValue("guid")
	it := view.Item{TaskGuid: guid}
	msg := "cancel task " + guid
	if err := h.o.BBS.CancelTask(quiet, "", guid); err != nil {
		return msg, it, bbsStatus(err), fmt.Errorf("cancelling task %s: %w", guid, err)
	}
	return msg, it, 0, nil
}
