package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/cli/render"
)

// event is how the reference tool prints an event: its type and the event
// message itself.
type event struct {
	Type string       `json:"type"`
	Data models.Event `json:"data"`
}

func lrpEvents(ctx context.Context, c *call) error {
	var cellID string
	c.str(&cellID, "cell-id", "c", "", "only events for instances on this cell")
	return streamEvents(ctx, c, func() (events.EventSource, error) {
		client, err := c.bbs()
		if err != nil {
			return nil, err
		}
		return client.SubscribeToInstanceEventsByCellID(quiet, cellID)
	})
}

func taskEvents(ctx context.Context, c *call) error {
	return streamEvents(ctx, c, func() (events.EventSource, error) {
		client, err := c.bbs()
		if err != nil {
			return nil, err
		}
		return client.SubscribeToTaskEvents(quiet)
	})
}

// streamEvents prints events until ctx ends, the stream closes, or --count
// events have been printed.
func streamEvents(ctx context.Context, c *call, subscribe func() (events.EventSource, error)) error {
	var countArg string
	c.str(&countArg, "count", "n", "0", "stop after this many events (0: until interrupted)")
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	count, err := strconv.Atoi(countArg)
	if err != nil || count < 0 {
		return c.usageError(fmt.Errorf("--count: %q is not a non-negative integer", countArg))
	}
	es, err := subscribe()
	if err != nil {
		return fmt.Errorf("subscribing to events: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { es.Close() })
	defer stop()
	defer es.Close()
	for n := 0; count == 0 || n < count; n++ {
		ev, err := es.Next()
		switch {
		case ctx.Err() != nil:
			return nil // interrupted: a normal end
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return fmt.Errorf("reading events: %w", err)
		}
		if err := printEvent(c, ev); err != nil {
			return err
		}
	}
	return nil
}

func printEvent(c *call, ev models.Event) error {
	if c.format == render.Table {
		_, err := fmt.Fprintf(c.stdout, "%-32s %s%s\n", ev.EventType(), ev.Key(), eventDetail(ev))
		return err
	}
	return render.Lines(c.stdout, []event{{Type: ev.EventType(), Data: ev}})
}

// eventDetail is a short human summary of an event's new state.
func eventDetail(ev models.Event) string {
	switch e := ev.(type) {
	case *models.ActualLRPInstanceCreatedEvent:
		if e.ActualLrp != nil {
			return " " + e.ActualLrp.State
		}
	case *models.ActualLRPInstanceChangedEvent:
		if e.Before != nil && e.After != nil {
			return fmt.Sprintf(" %s -> %s", e.Before.State, e.After.State)
		}
	case *models.ActualLRPCrashedEvent:
		return fmt.Sprintf(" crash %d: %s", e.CrashCount, e.CrashReason)
	case *models.TaskCreatedEvent:
		if e.Task != nil {
			return " " + e.Task.State.String()
		}
	case *models.TaskChangedEvent:
		if e.Before != nil && e.After != nil {
			return fmt.Sprintf(" %s -> %s", e.Before.State, e.After.State)
		}
	}
	return ""
}
