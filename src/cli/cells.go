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

func cells(ctx context.Context, c *call) error {
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	list, err := listCells(c)
	if err != nil {
		return err
	}
	return render.Print(c.stdout, c.format, list, render.CellHeader, render.CellRow)
}

func listCells(c *call) ([]*models.CellPresence, error) {
	client, err := c.bbs()
	if err != nil {
		return nil, err
	}
	list, err := client.Cells(quiet, "")
	if err != nil {
		return nil, fmt.Errorf("listing cells: %w", err)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].CellId < list[j].CellId })
	return list, nil
}

// findCell returns the presence of cell id, or a ResourceNotFound error.
func findCell(c *call, id string) (*models.CellPresence, error) {
	list, err := listCells(c)
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

func cell(ctx context.Context, c *call) error {
	args, err := c.parse(1, 1)
	if err != nil {
		return err
	}
	p, err := findCell(c, args[0])
	if err != nil {
		return err
	}
	return render.Print(c.stdout, c.format, []*models.CellPresence{p}, render.CellHeader, render.CellRow)
}

func cellStates(ctx context.Context, c *call) error {
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	list, err := listCells(c)
	if err != nil {
		return err
	}
	var states []rep.CellState
	var errs []error
	for _, p := range list {
		s, err := fetchState(c, p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		states = append(states, s)
	}
	if err := render.Print(c.stdout, c.format, states, render.CellStateHeader, render.CellStateRow); err != nil {
		return err
	}
	return errors.Join(errs...)
}

func cellState(ctx context.Context, c *call) error {
	args, err := c.parse(1, 1)
	if err != nil {
		return err
	}
	p, err := findCell(c, args[0])
	if err != nil {
		return err
	}
	s, err := fetchState(c, p)
	if err != nil {
		return err
	}
	return render.Print(c.stdout, c.format, []rep.CellState{s}, render.CellStateHeader, render.CellStateRow)
}

func fetchState(c *call, p *models.CellPresence) (rep.CellState, error) {
	f, err := c.reps()
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

func domains(ctx context.Context, c *call) error {
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	client, err := c.bbs()
	if err != nil {
		return err
	}
	list, err := client.Domains(quiet, "")
	if err != nil {
		return fmt.Errorf("listing domains: %w", err)
	}
	sort.Strings(list)
	return render.Print(c.stdout, c.format, list, render.DomainHeader, render.DomainRow)
}

func setDomain(ctx context.Context, c *call) error {
	var ttlArg string
	c.str(&ttlArg, "ttl", "t", "0", "how long the domain stays fresh: seconds or a duration like 2m (0: forever)")
	args, err := c.parse(1, 1)
	if err != nil {
		return err
	}
	ttl, err := parseTTL(ttlArg)
	if err != nil {
		return c.usageError(err)
	}
	client, err := c.bbs()
	if err != nil {
		return err
	}
	if err := client.UpsertDomain(quiet, "", args[0], ttl); err != nil {
		return fmt.Errorf("setting domain %s: %w", args[0], err)
	}
	return nil
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
