package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"code.cloudfoundry.org/bbs"
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

// eventsRequest is lrp-events' and task-events': which cell (lrp-events
// only) and how many events to print (0: until interrupted).
type eventsRequest struct {
	cellID string
	count  int
}

func lrpEventsRequest(c *call) func([]string) (eventsRequest, error) {
	var cellID string
	c.str(&cellID, "cell-id", "c", "", "only events for instances on this cell")
	count := countRequest(c)
	return func(pos []string) (eventsRequest, error) {
		r, err := count(pos)
		r.cellID = cellID
		return r, err
	}
}

func countRequest(c *call) func([]string) (eventsRequest, error) {
	var countArg string
	c.str(&countArg, "count", "n", "0", "stop after this many events (0: until interrupted)")
	return func([]string) (eventsRequest, error) {
		count, err := strconv.Atoi(countArg)
		if err != nil || count < 0 {
			return eventsRequest{}, fmt.Errorf("--count: %q is not a non-negative integer", countArg)
		}
		return eventsRequest{count: count}, nil
	}
}

// lrpEvents streams what the reference tool's lrp-events does: the
// deprecated group stream (/v1/events.r1), desired LRP and actual LRP group
// events.
func lrpEvents(ctx context.Context, k *conn, r eventsRequest) (nothing, error) {
	return nothing{}, streamEvents(ctx, k, r.count, func(client bbs.Client) (events.EventSource, error) {
		return client.SubscribeToEventsByCellID(quiet, r.cellID) //lint:ignore SA1019 the stream cfdot reads
	})
}

func taskEvents(ctx context.Context, k *conn, r eventsRequest) (nothing, error) {
	return nothing{}, streamEvents(ctx, k, r.count, func(client bbs.Client) (events.EventSource, error) {
		return client.SubscribeToTaskEvents(quiet)
	})
}

// streamEvents prints events until ctx ends, the stream closes, or count
// events have been printed. It connects itself: a connection failure is
// reported as the subscription's.
func streamEvents(ctx context.Context, k *conn, count int, subscribe func(bbs.Client) (events.EventSource, error)) error {
	client, err := k.bbsClient()
	if err != nil {
		return fmt.Errorf("subscribing to events: %w", err)
	}
	es, err := subscribe(client)
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
		if err := printEvent(k.call, ev); err != nil {
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
	case *models.ActualLRPCreatedEvent: //lint:ignore SA1019 group events of lrp-events
		return " " + groupState(e.ActualLrpGroup)
	case *models.ActualLRPChangedEvent: //lint:ignore SA1019 group events of lrp-events
		return fmt.Sprintf(" %s -> %s", groupState(e.Before), groupState(e.After))
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

// groupState is the state of a group's resolved instance.
func groupState(g *models.ActualLRPGroup) string { //lint:ignore SA1019 group events of lrp-events
	if g == nil {
		return ""
	}
	lrp, evacuating, err := g.Resolve()
	if err != nil {
		return ""
	}
	if evacuating {
		return lrp.State + " (evacuating)"
	}
	return lrp.State
}
