package scalebench

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/bbs/events"
)

func frameCases() []models.Event {
	lrp := func(since int64) *models.ActualLRP {
		l := &models.ActualLRP{ActualLRPKey: models.NewActualLRPKey("pg", 3, "d"), State: models.ActualLRPStateRunning, Since: since}
		l.ActualLRPInstanceKey = models.NewActualLRPInstanceKey("ig", "cell")
		return l
	}
	task := func(at int64) *models.Task {
		return &models.Task{TaskGuid: "t", Domain: "d", State: models.Task_Running, UpdatedAt: at, CellId: "cell"}
	}
	before, after := lrp(1_000), lrp(1_765_000_000_123_456_789)
	return []models.Event{
		models.NewActualLRPInstanceCreatedEvent(lrp(1_765_000_000_000_000_001), "trace"),
		models.NewActualLRPInstanceChangedEvent(before, after, "trace"),
		models.NewActualLRPInstanceRemovedEvent(lrp(5), "trace"),
		models.NewActualLRPCreatedEvent(&models.ActualLRPGroup{Instance: lrp(42)}),
		models.NewActualLRPCreatedEvent(&models.ActualLRPGroup{Evacuating: lrp(43)}),
		models.NewActualLRPChangedEvent(&models.ActualLRPGroup{Instance: lrp(1)}, &models.ActualLRPGroup{Instance: lrp(44)}),
		models.NewActualLRPCrashedEvent(lrp(7), lrp(8)),
		models.NewTaskCreatedEvent(task(1_765_000_000_000_000_777)),
		models.NewTaskChangedEvent(task(1), task(99)),
		models.NewTaskRemovedEvent(task(3)),
		models.NewDesiredLRPCreatedEvent(&models.DesiredLRP{ProcessGuid: "pg", Domain: "d", Instances: 2}, "trace"),
		models.NewActualLRPInstanceCreatedEvent(&models.ActualLRP{ActualLRPKey: models.NewActualLRPKey("pg", 0, "d")}, "no since"),
	}
}

// FrameReader and FrameTime read, from the BBS's own event stream, the
// same event names and times as the reference client and EventTime; with
// Decode = Timed, the events without a time come without their payload.
func TestFrameReaderMatchesReferenceDecoding(t *testing.T) {
	for _, lazy := range []bool{false, true} {
		t.Run(fmt.Sprintf("lazy=%v", lazy), func(t *testing.T) { frameReaderMatches(t, lazy) })
	}
}

func frameReaderMatches(t *testing.T, lazy bool) {
	hub := events.NewHub(0, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub := hub.Subscribe("")
		defer sub.Close()
		_ = events.ServeSSE(r.Context(), w, sub)
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	cases := frameCases()
	for _, e := range cases {
		hub.Publish(e)
	}
	f := NewFrameReader(resp.Body)
	if lazy {
		f.Decode = Timed
	}
	for i, want := range cases {
		name, payload, err := f.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if name != want.EventType() {
			t.Fatalf("event %d: name %q, want %q", i, name, want.EventType())
		}
		wantNs, wantOK := EventTime(want)
		if wantOK && !Timed(name) {
			t.Fatalf("event %d (%s) has a time Timed does not know of", i, name)
		}
		if lazy && !Timed(name) && payload != nil {
			t.Fatalf("event %d (%s): payload decoded", i, name)
		}
		gotNs, gotOK := FrameTime(name, payload)
		if wantOK && wantNs == 0 {
			wantOK = false // proto3 does not send a zero since
		}
		if gotNs != wantNs && wantOK || gotOK != wantOK {
			t.Fatalf("event %d (%s): FrameTime = %d, %v; EventTime = %d, %v", i, name, gotNs, gotOK, wantNs, wantOK)
		}
	}
	hub.Close()
	if _, _, err := f.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the hub closed: %v, want io.EOF", err)
	}
}

func FuzzFrameTime(f *testing.F) {
	for _, e := range frameCases() {
		b, err := e.(interface{ Marshal() ([]byte, error) }).Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(e.EventType(), b)
	}
	f.Fuzz(func(t *testing.T, name string, payload []byte) {
		ns, ok := FrameTime(name, payload) // never panics
		if !ok && ns != 0 {
			t.Fatalf("not ok but ns = %d", ns)
		}
	})
}

func BenchmarkFrameTime(b *testing.B) {
	e := frameCases()[1]
	payload, _ := e.(interface{ Marshal() ([]byte, error) }).Marshal()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := FrameTime(e.EventType(), payload); !ok {
			b.Fatal("no time")
		}
	}
}
