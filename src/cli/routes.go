package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/diego-go/diego/src/cli/render"
	"github.com/diego-go/diego/src/routeemitter/routes"
)

// routesQuery is the routes command's request: where the emitter serves
// its table, and whether to print it as one JSON document.
type routesQuery struct {
	url      string
	document bool
}

// routesRequest registers --route-emitter-url and --json.
func routesRequest(c *call) func([]string) (routesQuery, error) {
	var q routesQuery
	c.str(&q.url, "route-emitter-url", "", "", "URL of the route emitter's routes_address (env DIEGO_ROUTE_EMITTER_URL; default: the target file's route_emitter_url)")
	c.fs.BoolVar(&q.document, "json", false, "print the table as one JSON document (mode, active, external and internal routes)")
	return func([]string) (routesQuery, error) { return q, nil }
}

// routeRow is one line of `diego routes`: a route and whether it goes to
// the gorouters (external) or service discovery (internal).
type routeRow struct {
	Kind string `json:"kind"`
	routes.Route
}

// routesResult is what routes fetched, and how to print it.
type routesResult struct {
	table    routes.Table
	document bool
}

// fetchRoutes gets the routing table from the route emitter.
func fetchRoutes(ctx context.Context, k *conn, q routesQuery) (routesResult, error) {
	url := q.url
	if url == "" {
		url = os.Getenv("DIEGO_ROUTE_EMITTER_URL")
	}
	if url == "" {
		s, err := k.settings()
		if err != nil {
			return routesResult{}, err
		}
		url = s.File.RouteEmitterURL
	}
	if url == "" {
		return routesResult{}, errors.New("no route emitter URL: set --route-emitter-url (or DIEGO_ROUTE_EMITTER_URL), or point --target (or DIEGO_TARGET) at a target file with route_emitter_url")
	}
	t, err := routes.Fetch(ctx, url)
	return routesResult{table: t, document: q.document}, err
}

var routeHeader = []string{"KIND", "ROUTE", "ADDRESS", "TLS PORT", "PROCESS GUID", "INDEX", "INSTANCE GUID", "PROTOCOL"}

func routeLine(r routeRow) []string {
	tls := ""
	if r.TLSPort != 0 {
		tls = strconv.Itoa(int(r.TLSPort))
	}
	addr := r.Host
	if r.Port != 0 {
		addr = fmt.Sprintf("%s:%d", r.Host, r.Port)
	}
	return []string{r.Kind, r.Route.Route, addr, tls, r.ProcessGUID, r.Index, r.InstanceGUID, r.Protocol}
}

// printRoutes prints the document (--json), or one row per route as JSON
// lines or a table (-o).
func printRoutes(c *call, res routesResult) error {
	if res.document {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res.table)
	}
	if !res.table.Active {
		fmt.Fprintf(c.stderr, "note: this route emitter (%s mode) is not emitting: it stands by for the route_emitter lock\n", res.table.Mode)
	}
	rows := make([]routeRow, 0, len(res.table.External)+len(res.table.Internal))
	for _, r := range res.table.External {
		rows = append(rows, routeRow{"external", r})
	}
	for _, r := range res.table.Internal {
		rows = append(rows, routeRow{"internal", r})
	}
	return render.Print(c.stdout, c.format, rows, routeHeader, routeLine)
}
