package auctioneer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/diego-go/diego/src/auctionapi"
)

// DefaultMaxBodyBytes bounds a request body (about 100,000 LRP start requests).
const DefaultMaxBodyBytes = 32 << 20

// maxListedProblems bounds how many invalid entries a 400 answer names.
const maxListedProblems = 10

// NewHandler serves the auctioneer API: POST /v1/lrps takes a JSON array of
// auctionapi.LRPStartRequest and POST /v1/tasks a JSON array of
// auctionapi.TaskStartRequest. A valid array is queued on r and answered 202
// Accepted with {}. An array with any invalid entry is refused as a whole
// with 400 and {"error": "..."} naming the entries and what is wrong with
// them, so the caller learns of the problem (the reference drops invalid
// entries silently and answers 202).
func NewHandler(r *Runner, maxBodyBytes int64, log *slog.Logger) http.Handler {
	if maxBodyBytes <= 0 {
		maxBodyBytes = DefaultMaxBodyBytes
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{runner: r, max: maxBodyBytes, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+auctionapi.LRPsPath, h.lrps)
	mux.HandleFunc("POST "+auctionapi.TasksPath, h.tasks)
	return mux
}

type handler struct {
	runner *Runner
	max    int64
	log    *slog.Logger
}

func (h *handler) lrps(w http.ResponseWriter, req *http.Request) {
	var starts []auctionapi.LRPStartRequest
	if !h.decode(w, req, &starts, "LRP start requests") {
		return
	}
	var problems []string
	instances := 0
	for i := range starts {
		if err := starts[i].Validate(); err != nil {
			problems = append(problems, fmt.Sprintf("[%d] process_guid %q: %s", i, starts[i].ProcessGuid, oneLine(err)))
		}
		instances += len(starts[i].Indices)
	}
	if len(problems) > 0 {
		h.refuse(w, req, "invalid LRP start requests", problems, len(starts))
		return
	}
	h.runner.AddLRPs(starts)
	h.log.Debug("lrp start requests queued", "requests", len(starts), "instances", instances)
	writeJSON(w, http.StatusAccepted, struct{}{})
}

func (h *handler) tasks(w http.ResponseWriter, req *http.Request) {
	var starts []auctionapi.TaskStartRequest
	if !h.decode(w, req, &starts, "task start requests") {
		return
	}
	var problems []string
	for i := range starts {
		if err := starts[i].Validate(); err != nil {
			problems = append(problems, fmt.Sprintf("[%d] TaskGuid %q: %s", i, starts[i].TaskGuid, oneLine(err)))
		}
	}
	if len(problems) > 0 {
		h.refuse(w, req, "invalid task start requests", problems, len(starts))
		return
	}
	h.runner.AddTasks(starts)
	h.log.Debug("task start requests queued", "tasks", len(starts))
	writeJSON(w, http.StatusAccepted, struct{}{})
}

// decode reads one JSON array into dst, answering the error itself.
func (h *handler) decode(w http.ResponseWriter, req *http.Request, dst any, what string) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, h.max))
	err := dec.Decode(dst)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("unexpected data after the JSON array")
		}
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes: send fewer %s per request", h.max, what))
		return false
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("empty body")
	}
	msg := fmt.Sprintf("body must be a JSON array of %s: %v", what, err)
	h.log.Warn("refusing malformed start requests", "path", req.URL.Path, "error", err, "remote", req.RemoteAddr)
	writeError(w, http.StatusBadRequest, msg)
	return false
}

func (h *handler) refuse(w http.ResponseWriter, req *http.Request, what string, problems []string, total int) {
	listed := problems
	if len(listed) > maxListedProblems {
		listed = listed[:maxListedProblems]
	}
	msg := fmt.Sprintf("%s (%d of %d; none queued): %s", what, len(problems), total, strings.Join(listed, "; "))
	if len(problems) > len(listed) {
		msg += fmt.Sprintf("; and %d more", len(problems)-len(listed))
	}
	h.log.Warn("refusing invalid start requests", "path", req.URL.Path, "invalid", len(problems), "total", total, "first", problems[0], "remote", req.RemoteAddr)
	writeError(w, http.StatusBadRequest, msg)
}

// oneLine joins a multi-error's lines.
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", ", ") }

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, auctionapi.ErrorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
