package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/testutil"
)

func actualLRP(guid, cell string) *models.ActualLRP {
	lrp := &models.ActualLRP{
		ActualLRPKey: models.NewActualLRPKey("pg-"+guid, 0, "domain"),
		State:        models.ActualLRPStateUnclaimed,
		Since:        1,
	}
	if cell != "" {
		lrp.ActualLRPInstanceKey = models.NewActualLRPInstanceKey("ig-"+guid, cell)
		lrp.State = models.ActualLRPStateRunning
	}
	return lrp
}

func task(guid, cell string) *models.Task {
	return &models.Task{
		TaskDefinition: &models.TaskDefinition{RootFs: "docker:///busybox", Annotation: "a-" + guid},
		TaskGuid:       guid,
		Domain:         "domain",
		State:          models.Task_Running,
		CellId:         cell,
	}
}

func desiredLRP(guid string) *models.DesiredLRP {
	return &models.DesiredLRP{ProcessGuid: guid, Domain: "domain", RootFs: "docker:///busybox", Instances: 2}
}

// eventCases covers every event type the BBS publishes, plus the deprecated
// group events, with the cells each concerns.
func eventCases() []struct {
	name  string
	event models.Event
	cells []string
} {
	return []struct {
		name  string
		event models.Event
		cells []string
	}{
		{"instance created on a", models.NewActualLRPInstanceCreatedEvent(actualLRP("1", "cell-a"), "t1"), []string{"cell-a"}},
		{"instance created unclaimed", models.NewActualLRPInstanceCreatedEvent(actualLRP("2", ""), "t2"), nil},
		{"instance changed unclaimed to a", models.NewActualLRPInstanceChangedEvent(actualLRP("3", ""), actualLRP("3", "cell-a"), "t3"), []string{"cell-a"}},
		{"instance changed a to unclaimed", models.NewActualLRPInstanceChangedEvent(actualLRP("4", "cell-a"), actualLRP("4", ""), "t4"), []string{"cell-a"}},
		{"instance changed on b", models.NewActualLRPInstanceChangedEvent(actualLRP("5", "cell-b"), actualLRP("5", "cell-b"), "t5"), []string{"cell-b"}},
		{"instance removed from b", models.NewActualLRPInstanceRemovedEvent(actualLRP("6", "cell-b"), "t6"), []string{"cell-b"}},
		{"instance removed unclaimed", models.NewActualLRPInstanceRemovedEvent(actualLRP("7", ""), "t7"), nil},
		{"crashed on a", models.NewActualLRPCrashedEvent(actualLRP("8", "cell-a"), actualLRP("8", "")), []string{"cell-a"}},
		{"desired created", models.NewDesiredLRPCreatedEvent(desiredLRP("d1"), "t9"), nil},
		{"desired changed", models.NewDesiredLRPChangedEvent(desiredLRP("d2"), desiredLRP("d2"), "t10"), nil},
		{"desired removed", models.NewDesiredLRPRemovedEvent(desiredLRP("d3"), "t11"), nil},
		{"task created pending", models.NewTaskCreatedEvent(task("k1", "")), nil},
		{"task changed pending to a", models.NewTaskChangedEvent(task("k2", ""), task("k2", "cell-a")), []string{"cell-a"}},
		{"task changed a to b", models.NewTaskChangedEvent(task("k3", "cell-a"), task("k3", "cell-b")), []string{"cell-a", "cell-b"}},
		{"task changed b to none", models.NewTaskChangedEvent(task("k4", "cell-b"), task("k4", "")), []string{"cell-b"}},
		{"task removed from b", models.NewTaskRemovedEvent(task("k5", "cell-b")), []string{"cell-b"}},
		{"task created nil task", models.NewTaskCreatedEvent(nil), nil},
		{"deprecated group created on a", models.NewActualLRPCreatedEvent(&models.ActualLRPGroup{Instance: actualLRP("9", "cell-a")}), []string{"cell-a"}},
		{"deprecated group changed b to evacuating a", models.NewActualLRPChangedEvent(
			&models.ActualLRPGroup{Instance: actualLRP("10", "cell-b")},
			&models.ActualLRPGroup{Evacuating: actualLRP("10", "cell-a")}), []string{"cell-b", "cell-a"}},
		{"deprecated group removed nil", models.NewActualLRPRemovedEvent(nil), nil},
	}
}

func TestCellFiltering(t *testing.T) {
	for _, tt := range eventCases() {
		t.Run(tt.name, func(t *testing.T) {
			if got := CellIDs(tt.event); !slices.Equal(got, tt.cells) {
				t.Fatalf("CellIDs = %q, want %q", got, tt.cells)
			}
			hub := NewHub(8, nil)
			defer hub.Close()
			subs := map[string]*Subscription{}
			for _, cell := range []string{"", "cell-a", "cell-b", "cell-c"} {
				subs[cell] = hub.Subscribe(cell)
			}
			// A second subscriber to the same cell must also receive it.
			extraA := hub.Subscribe("cell-a")
			hub.Publish(tt.event)

			want := map[string]bool{"": true}
			for _, c := range tt.cells {
				want[c] = true
			}
			if concernsEveryCell(tt.event) { // desired LRP events reach every subscriber, as in the reference
				want["cell-a"], want["cell-b"], want["cell-c"] = true, true, true
			}
			for cell, s := range subs {
				if got := s.queued(); got != b2i(want[cell]) {
					t.Errorf("subscriber %q has %d events, want %d", cell, got, b2i(want[cell]))
				}
			}
			if extraA.queued() != b2i(want["cell-a"]) {
				t.Errorf("second cell-a subscriber has %d events", extraA.queued())
			}
			if want[""] {
				got, err := subs[""].Next(context.Background())
				if err != nil || got != tt.event {
					t.Fatalf("Next = %v, %v; want the published event", got, err)
				}
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestFanOutInOrder(t *testing.T) {
	hub := NewHub(0, nil)
	defer hub.Close()
	const subscribers, events = 5, 500
	subs := make([]*Subscription, subscribers)
	for i := range subs {
		subs[i] = hub.Subscribe("")
	}
	if hub.SubscriberCount() != subscribers {
		t.Fatalf("SubscriberCount = %d", hub.SubscriberCount())
	}

	var wg sync.WaitGroup
	errs := make(chan error, subscribers)
	for i, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for n := range events {
				e, err := s.Next(ctx)
				if err != nil {
					errs <- fmt.Errorf("subscriber %d, event %d: %w", i, n, err)
					return
				}
				if want := fmt.Sprintf("k%d", n); e.Key() != want {
					errs <- fmt.Errorf("subscriber %d got %s, want %s", i, e.Key(), want)
					return
				}
			}
		}()
	}
	for n := range events {
		hub.Publish(models.NewTaskCreatedEvent(task(fmt.Sprintf("k%d", n), "cell-a")))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if hub.Dropped() != 0 {
		t.Errorf("Dropped = %d", hub.Dropped())
	}
}

func TestSlowSubscriberIsDropped(t *testing.T) {
	var logs testutil.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	const buffer = 1024
	hub := NewHub(buffer, logger)
	defer hub.Close()

	stuck := hub.Subscribe("")      // never reads
	stuckCell := hub.Subscribe("c") // never reads either
	live := hub.Subscribe("")
	liveCell := hub.Subscribe("c")

	received := make(chan int, 2)
	consume := func(s *Subscription) {
		n := 0
		for {
			if _, err := s.Next(context.Background()); err != nil {
				received <- n
				return
			}
			n++
		}
	}
	go consume(live)
	go consume(liveCell)

	// Publish in batches smaller than the buffer and let the live
	// subscribers catch up between batches, so only the stuck ones can
	// fall behind. Only the time spent inside Publish is measured.
	const total, batch = 100_000, buffer / 2
	ev := models.NewTaskCreatedEvent(task("k", "c"))
	var inPublish time.Duration
	sent := 0
	for ; sent < total; sent += batch {
		start := time.Now()
		for range batch {
			hub.Publish(ev)
		}
		inPublish += time.Since(start)
		testutil.WaitFor(t, 10*time.Second, "the live subscribers to catch up", func() bool { return live.queued() == 0 && liveCell.queued() == 0 })
	}
	if inPublish > 2*time.Second {
		t.Fatalf("publishing %d events took %s", sent, inPublish)
	}
	t.Logf("published %d events in %s", sent, inPublish)

	for _, s := range []*Subscription{stuck, stuckCell} {
		select {
		case <-s.Done():
		default:
			t.Fatal("stuck subscriber was not dropped")
		}
		if !errors.Is(s.Err(), ErrDropped) {
			t.Fatalf("Err = %v, want ErrDropped", s.Err())
		}
		if _, err := s.Next(context.Background()); !errors.Is(err, ErrDropped) {
			t.Fatalf("Next after drop = %v", err)
		}
	}
	if hub.Dropped() != 2 {
		t.Fatalf("Dropped = %d, want 2", hub.Dropped())
	}
	if hub.SubscriberCount() != 2 {
		t.Fatalf("SubscriberCount = %d, want 2", hub.SubscriberCount())
	}
	if live.Err() != nil || liveCell.Err() != nil {
		t.Fatalf("live subscribers ended: %v, %v", live.Err(), liveCell.Err())
	}
	hub.Close()
	for range 2 {
		if n := <-received; n != sent {
			t.Errorf("live subscriber received %d events, want %d", n, sent)
		}
	}
	if got := strings.Count(logs.String(), "dropping event subscriber: buffer full"); got != 2 {
		t.Fatalf("%d drop log lines, want 2:\n%s", got, logs.String())
	}
}

func TestSubscriptionLifecycle(t *testing.T) {
	hub := NewHub(4, nil)
	a := hub.Subscribe("")
	b := hub.Subscribe("cell")
	if a.CellID() != "" || b.CellID() != "cell" {
		t.Fatal("CellID mismatch")
	}
	if a.Err() != nil {
		t.Fatalf("Err on a live subscription = %v", a.Err())
	}

	a.Close()
	a.Close() // idempotent
	if !errors.Is(a.Err(), ErrClosed) || hub.SubscriberCount() != 1 {
		t.Fatalf("after Close: Err=%v count=%d", a.Err(), hub.SubscriberCount())
	}
	if _, err := a.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close = %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with cancelled ctx = %v", err)
	}

	waiting := make(chan error, 1)
	go func() {
		_, err := b.Next(context.Background())
		waiting <- err
	}()
	hub.Close()
	hub.Close() // idempotent
	receiveErr(t, waiting, ErrHubClosed, "the blocked Next after Hub.Close")
	if !errors.Is(a.Err(), ErrClosed) {
		t.Fatalf("Hub.Close changed the reason of an already closed subscription: %v", a.Err())
	}
	if hub.SubscriberCount() != 0 {
		t.Fatalf("SubscriberCount after Close = %d", hub.SubscriberCount())
	}

	hub.Publish(models.NewTaskCreatedEvent(task("late", ""))) // no-op, no panic
	late := hub.Subscribe("")
	if !errors.Is(late.Err(), ErrHubClosed) || hub.SubscriberCount() != 0 {
		t.Fatalf("Subscribe after Close: Err=%v count=%d", late.Err(), hub.SubscriberCount())
	}
	late.Close()
}

func TestConcurrentPublishSubscribe(t *testing.T) {
	hub := NewHub(16, nil)
	ctx, stopSubscribers := context.WithCancel(context.Background())
	var publishers, subscribers sync.WaitGroup
	for i := range 8 {
		publishers.Add(1)
		go func() {
			defer publishers.Done()
			for range 2000 {
				hub.Publish(models.NewTaskCreatedEvent(task("k", fmt.Sprintf("cell-%d", i%3))))
			}
		}()
		subscribers.Add(1)
		go func() {
			defer subscribers.Done()
			for range 50 {
				s := hub.Subscribe(fmt.Sprintf("cell-%d", i%4))
				for range 5 {
					if _, err := s.Next(ctx); err != nil {
						break
					}
				}
				s.Close()
			}
		}()
	}
	publishers.Wait()
	stopSubscribers()
	subscribers.Wait()
	if hub.SubscriberCount() != 0 {
		t.Fatalf("SubscriberCount = %d after every subscriber closed", hub.SubscriberCount())
	}
	hub.Close()
}

// BenchmarkPublish fans one event out to 10 unfiltered subscribers.
// "buffered" measures the hub alone: nobody is waiting on the channels and
// the buffers are emptied, untimed, before they fill, so no one is dropped.
// "consumers" has a goroutine draining each subscriber, which adds the cost
// of waking receivers; subscribers that still fall behind are dropped and
// counted in the "dropped" metric.
func BenchmarkPublish(b *testing.B) {
	const subscribers = 10
	ev := models.NewActualLRPInstanceChangedEvent(actualLRP("1", "cell-a"), actualLRP("1", "cell-a"), "trace")

	b.Run("buffered", func(b *testing.B) {
		const buffer = 1024
		hub := NewHub(buffer, nil)
		defer hub.Close()
		subs := make([]*Subscription, subscribers)
		for i := range subs {
			subs[i] = hub.Subscribe("")
		}
		publishBuffered(b, hub, subs, buffer, ev)
	})

	// A desired LRP event to 1,200 subscribers filtered to a cell each, as
	// the route emitters of the full scale preset's cells subscribe.
	b.Run("desired-to-1200-cells", func(b *testing.B) {
		const buffer = 1024
		hub := NewHub(buffer, nil)
		defer hub.Close()
		subs := make([]*Subscription, 1200)
		for i := range subs {
			subs[i] = hub.Subscribe(fmt.Sprintf("cell-%d", i))
		}
		desired := models.NewDesiredLRPCreatedEvent(&models.DesiredLRP{ProcessGuid: "pg"}, "trace")
		publishBuffered(b, hub, subs, buffer, desired)
	})

	b.Run("consumers", func(b *testing.B) {
		hub := NewHub(1<<16, nil)
		var wg sync.WaitGroup
		for range subscribers {
			s := hub.Subscribe("")
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if _, err := s.next(context.Background()); err != nil {
						return
					}
				}
			}()
		}
		b.ReportAllocs()
		for b.Loop() {
			hub.Publish(ev)
		}
		b.ReportMetric(float64(hub.Dropped()), "dropped")
		hub.Close()
		wg.Wait()
	})
}

// publishBuffered publishes ev b.N times to hub, emptying the subscribers'
// queues (untimed) before they fill, and fails if any was dropped.
func publishBuffered(b *testing.B, hub *Hub, subs []*Subscription, buffer int, ev models.Event) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%buffer == buffer-1 {
			b.StopTimer()
			for _, s := range subs {
				s.discardQueued()
			}
			b.StartTimer()
		}
		hub.Publish(ev)
	}
	b.StopTimer()
	if hub.Dropped() != 0 {
		b.Fatalf("%d subscribers dropped", hub.Dropped())
	}
}

// receiveErr waits up to five seconds for the error a goroutine reports on
// ch (what) and fails unless it wraps want.
func receiveErr(t *testing.T, ch <-chan error, want error, what string) {
	t.Helper()
	select {
	case err := <-ch:
		if !errors.Is(err, want) {
			t.Fatalf("%s returned %v, want %v", what, err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not return within 5s", what)
	}
}
