package service

import (
	"context"
	"encoding/json"
	"fmt"

	"code.cloudfoundry.org/bbs/models"
)

// PresenceType is the Locket row type of a cell presence.
const PresenceType = "presence"

// Cells lists the cells that hold a Locket presence.
func (s *Service) Cells(ctx context.Context) ([]*models.CellPresence, error) {
	rows, err := s.cfg.Store.Presences(ctx, PresenceType)
	if err != nil {
		return nil, err
	}
	cells := make([]*models.CellPresence, 0, len(rows))
	for _, r := range rows {
		var c models.CellPresence
		if err := json.Unmarshal([]byte(r.Value), &c); err != nil {
			s.log.Warn("skipping unreadable cell presence", "key", r.Key, "err", err)
			continue
		}
		cells = append(cells, &c)
	}
	return cells, nil
}

// Cell returns one cell's presence or ErrResourceNotFound.
func (s *Service) Cell(ctx context.Context, id string) (*models.CellPresence, error) {
	cells, err := s.Cells(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing cells: %w", err)
	}
	for _, c := range cells {
		if c.CellId == id {
			return c, nil
		}
	}
	return nil, models.ErrResourceNotFound
}
