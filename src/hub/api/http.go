package api

import (
	"bufio"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/diego-go/diego/src/hub/view"
)

// Handler returns the Hub's HTTP handler: /healthz, the API and the UI
// from ui (index.html for unknown non-API paths); built false serves a
// page saying the UI is not built.
func (h *Hub) Handler(ui fs.FS, built bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/overview", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, h.View().Overview)
	})
	mux.HandleFunc("GET /api/cells", h.cells)
	mux.HandleFunc("GET /api/apps", h.apps)
	mux.HandleFunc("GET /api/apps/{guid}", h.app)
	mux.HandleFunc("GET /api/apps/{guid}/logs", h.logs)
	mux.HandleFunc("GET /api/tasks", h.tasks)
	mux.HandleFunc("GET /api/system", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, h.system.Load()) })
	mux.HandleFunc("GET /api/rotation", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, h.rotation.Load()) })
	mux.HandleFunc("GET /api/events", h.events)
	mux.HandleFunc("GET /api/stream", h.stream)
	mux.HandleFunc("POST /api/apps/{guid}/scale", h.action(h.scale))
	mux.HandleFunc("POST /api/apps/{guid}/instances/{index}/retire", h.action(h.retire))
	mux.HandleFunc("POST /api/cells/{cell}/drain", h.action(h.drain))
	mux.HandleFunc("POST /api/tasks/{guid}/cancel", h.action(h.cancel))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path+" (see docs/hub-api.md)")
	})
	mux.Handle("/", uiHandler(ui, built))
	authed := h.o.Auth.login(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("ok"))
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		authed.ServeHTTP(w, r)
	})
}

// notBuilt is served for the UI when the binary carries none.
const notBuilt = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Diego Hub</title></head>
<body><h1>Diego Hub</h1><p>The Hub's UI is not built: run <code>make hub-ui</code> (then rebuild). The JSON API works: try <a href="/api/overview">/api/overview</a>.</p></body></html>
`

func uiHandler(ui fs.FS, built bool) http.Handler {
	if !built || ui == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(notBuilt))
		})
	}
	files := http.FileServerFS(ui)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if name != "" {
			if st, err := fs.Stat(ui, name); err == nil && !st.IsDir() {
				files.ServeHTTP(w, r)
				return
			}
		}
		// Client-side routes get index.html.
		b, err := fs.ReadFile(ui, "index.html")
		if err != nil {
			writeError(w, http.StatusInternalServerError, "reading the UI's index.html: "+err.Error())
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(b)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encoding the answer: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// pageArgs reads page and per_page.
func pageArgs(r *http.Request) (page, perPage int, err error) {
	q := r.URL.Query()
	page, perPage = 1, view.DefaultPerPage
	if s := q.Get("page"); s != "" {
		if page, err = strconv.Atoi(s); err != nil || page < 1 {
			return 0, 0, errors.New("page must be a whole number from 1")
		}
	}
	if s := q.Get("per_page"); s != "" {
		if perPage, err = strconv.Atoi(s); err != nil || perPage < 1 || perPage > view.MaxPerPage {
			return 0, 0, errors.New("per_page must be a whole number from 1 to 500")
		}
	}
	return page, perPage, nil
}

func (h *Hub) cells(w http.ResponseWriter, r *http.Request) {
	page, perPage, err := pageArgs(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	v := h.View()
	p := view.Paginate(view.FilterCells(v.Cells, r.URL.Query().Get("zone")), page, perPage)
	writeJSON(w, http.StatusOK, struct {
		Zones []view.Zone `json:"zones"`
		view.Page[view.Cell]
	}{v.Zones, p})
}

func (h *Hub) apps(w http.ResponseWriter, r *http.Request) {
	page, perPage, err := pageArgs(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q := r.URL.Query()
	writeJSON(w, http.StatusOK, view.Paginate(view.FilterApps(h.View().Apps, q.Get("domain"), q.Get("q")), page, perPage))
}

func (h *Hub) app(w http.ResponseWriter, r *http.Request) {
	guid := r.PathValue("guid")
	v := h.View()
	a, ok := v.App(guid)
	if !ok {
		writeError(w, http.StatusNotFound, "no desired LRP "+guid+" (GET /api/apps lists them)")
		return
	}
	inst := v.Instances[guid]
	if inst == nil {
		inst = []view.Instance{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"app": a, "instances": inst,
		"events": h.ring.List(view.Filter{ProcessGuid: guid, Limit: 100})})
}

func (h *Hub) tasks(w http.ResponseWriter, r *http.Request) {
	page, perPage, err := pageArgs(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q := r.URL.Query()
	writeJSON(w, http.StatusOK, view.Paginate(view.FilterTasks(h.View().Tasks, q.Get("state"), q.Get("domain")), page, perPage))
}

func (h *Hub) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := view.Filter{Kind: q.Get("kind"), ProcessGuid: q.Get("process_guid"), CellID: q.Get("cell_id"), Q: q.Get("q")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > view.DefaultRingSize {
			writeError(w, http.StatusBadRequest, "limit must be a whole number from 1 to 5000")
			return
		}
		f.Limit = n
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": h.ring.List(f)})
}

// logs serves the tail of LOG_DIR/PROCESS_GUID/INDEX.log.
func (h *Hub) logs(w http.ResponseWriter, r *http.Request) {
	if h.o.LogDir == "" {
		writeError(w, http.StatusNotFound, "app logs are not available: the Hub has no log_dir (diego up sets it; elsewhere read the logs from Loggregator)")
		return
	}
	guid := r.PathValue("guid")
	q := r.URL.Query()
	index, err := strconv.Atoi(q.Get("index"))
	if q.Get("index") == "" {
		index, err = 0, nil
	}
	if err != nil || index < 0 {
		writeError(w, http.StatusBadRequest, "index must be a whole number from 0")
		return
	}
	lines := 200
	if s := q.Get("lines"); s != "" {
		if lines, err = strconv.Atoi(s); err != nil || lines < 1 || lines > 5000 {
			writeError(w, http.StatusBadRequest, "lines must be a whole number from 1 to 5000")
			return
		}
	}
	if guid == "" || guid == "." || guid == ".." || strings.ContainsAny(guid, `/\`) {
		writeError(w, http.StatusBadRequest, "bad process guid")
		return
	}
	f, err := os.Open(filepath.Join(h.o.LogDir, guid, strconv.Itoa(index)+".log"))
	if errors.Is(err, os.ErrNotExist) {
		writeError(w, http.StatusNotFound, "no log for "+guid+" index "+strconv.Itoa(index)+" yet")
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > 4<<20 {
		_, _ = f.Seek(st.Size()-4<<20, 0) // the tail is in the last 4 MiB
	}
	ring := make([]string, 0, lines)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		if len(ring) == lines {
			ring = ring[1:]
		}
		ring = append(ring, sc.Text())
	}
	writeJSON(w, http.StatusOK, map[string]any{"lines": ring})
}
