package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/cli/render"
)

// The cell and domain commands' requests and calls; their rows are in
// commands.go.

// cells lists the cell presences by id.
func cells(_ context.Context, k *conn, _ nothing) ([]*models.CellPresence, error) {
	list, err := k.bbs.Cells(quiet, "")
	if err != nil {
		return nil, fmt.Errorf("listing cells: %w", err)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].CellId < list[j].CellId })
	return list, nil
}

// cell returns the presence of cell id, or a ResourceNotFound error.
func cell(ctx context.Context, k *conn, id string) (*models.CellPresence, error) {
	list, err := cells(ctx, k, nothing{})
	if err != nil {
		return nil, err
	}
	for _, p := range list {
		if p.CellId == id {
			return p, nil
		}
	}
	return nil, fmt.Errorf("cell %s: %w", id, models.NewError(models.Error_ResourceNotFound, "cell "+id+" is not registered"))
}

// cellStatesResult is the states of the reps that answered and the errors
// of those that did not: cell-states prints the first, then fails.
type cellStatesResult struct {
	states []rep.CellState
	errs   error
}

func cellStates(ctx context.Context, k *conn, _ nothing) (cellStatesResult, error) {
	list, err := cells(ctx, k, nothing{})
	if err != nil {
		return cellStatesResult{}, err
	}
	var r cellStatesResult
	var errs []error
	for _, p := range list {
		s, err := fetchState(k, p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.states = append(r.states, s)
	}
	r.errs = errors.Join(errs...)
	return r, nil
}

func printCellStates(c *call, r cellStatesResult) error {
	if err := list(render.CellStateHeader, render.CellStateRow)(c, r.states); err != nil {
		return err
	}
	return r.errs
}

func cellState(ctx context.Context, k *conn, id string) (rep.CellState, error) {
	p, err := cell(ctx, k, id)
	if err != nil {
		return rep.CellState{}, err
	}
	return fetchState(k, p)
}

func fetchState(k *conn, p *models.CellPresence) (rep.CellState, error) {
	f, err := k.repClients()
	if err != nil {
		return rep.CellState{}, err
	}
	rc, err := f.CreateClient(p.RepAddress, p.RepUrl, "")
	if err != nil {
		return rep.CellState{}, fmt.Errorf("rep client for cell %s: %w", p.CellId, err)
	}
	s, err := rc.State(quiet)
	if err != nil {
		return rep.CellState{}, fmt.Errorf("getting state of cell %s: %w", p.CellId, err)
	}
	return s, nil
}

func domains(_ context.Context, k *conn, _ nothing) ([]string, error) {
	list, err := k.bbs.Domains(quiet, "")
	sort.Strings(list)
	return list, err
}

// domainRequest is set-domain's: the domain and how long it stays fresh.
type domainRequest struct {
	domain string
	ttl    time.Duration
}

func setDomainRequest(c *call) func([]string) (domainRequest, error) {
	var ttl string
	c.str(&ttl, "ttl", "t", "0", "how long the domain stays fresh: seconds or a duration like 2m (0: forever)")
	return func(pos []string) (domainRequest, error) {
		d, err := parseTTL(ttl)
		return domainRequest{domain: pos[0], ttl: d}, err
	}
}

func setDomain(_ context.Context, k *conn, d domainRequest) (nothing, error) {
	return nothing{}, k.bbs.UpsertDomain(quiet, "", d.domain, d.ttl)
}

// parseTTL reads whole seconds (the reference tool's form) or a Go duration.
func parseTTL(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--ttl: %q is not a number of seconds or a duration", s)
	}
	return d, nil
}
