// Package routes serves the route emitter's routing table as JSON at GET /routes and fetches it (for `diego routes`).
package routes

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/diego-go/diego/src/routeemitter/table"
)

// Path is where the table is served.
const Path = "/routes"

// Route is one registration: a hostname routed to an instance's address.
type Route struct {
	// Route is the hostname (the registration's first URI).
	Route string `json:"route"`
	// URIs are every URI of the registration (an internal route has the
	// hostname and INDEX.hostname).
	URIs             []string `json:"uris"`
	Host             string   `json:"host"`
	Port             uint32   `json:"port"`
	TLSPort          uint32   `json:"tls_port,omitempty"`
	ProcessGUID      string   `json:"process_guid"`
	InstanceGUID     string   `json:"instance_guid,omitempty"`
	Index            string   `json:"index,omitempty"`
	Protocol         string   `json:"protocol,omitempty"`
	RouteServiceURL  string   `json:"route_service_url,omitempty"`
	IsolationSegment string   `json:"isolation_segment,omitempty"`
	AvailabilityZone string   `json:"availability_zone,omitempty"`
}

// Table is the document GET /routes serves.
type Table struct {
	// Mode is "global" (one emitter per deployment, holding the Locket
	// lock) or "local" (one per cell).
	Mode string `json:"mode"`
	// CellID is the cell a local emitter routes.
	CellID string `json:"cell_id,omitempty"`
	// Active reports whether this emitter is emitting: a global emitter
	// only while it holds the lock (a standby serves an empty table).
	Active bool `json:"active"`
	// External routes go to the gorouters (router.register), Internal ones
	// to service discovery (service-discovery.register).
	External []Route `json:"external"`
	Internal []Route `json:"internal"`
}

// FromEntries turns the table's entries into routes.
func FromEntries(entries []table.Entry) []Route {
	out := make([]Route, 0, len(entries))
	for _, e := range entries {
		r := Route{URIs: e.URIs, Host: e.Host, Port: e.Port, TLSPort: e.TLSPort, ProcessGUID: e.ProcessGUID,
			InstanceGUID: e.PrivateInstanceID, Index: e.PrivateInstanceIndex, Protocol: e.Protocol,
			RouteServiceURL: e.RouteServiceURL, IsolationSegment: e.IsolationSegment, AvailabilityZone: e.AvailabilityZone}
		if len(e.URIs) > 0 {
			r.Route = e.URIs[0]
		}
		out = append(out, r)
	}
	return out
}

// Handler serves GET /routes with what snapshot returns.
func Handler(snapshot func() Table) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Path, func(w http.ResponseWriter, _ *http.Request) {
		t := snapshot()
		if t.External == nil {
			t.External = []Route{}
		}
		if t.Internal == nil {
			t.Internal = []Route{}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(t)
	})
	return mux
}

// Fetch gets the table from the emitter at baseURL (http://host:port).
func Fetch(ctx context.Context, baseURL string) (Table, error) {
	var t Table
	if !strings.Contains(baseURL, "://") {
		baseURL = "http://" + baseURL
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(baseURL, "/")+Path, nil)
	if err != nil {
		return t, fmt.Errorf("route emitter URL %q: %w", baseURL, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return t, fmt.Errorf("fetching the routing table (is the route emitter running, with routes_address set?): %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return t, fmt.Errorf("fetching the routing table: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil {
		return t, fmt.Errorf("decoding the routing table: %w", err)
	}
	return t, nil
}
