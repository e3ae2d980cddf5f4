package interop_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/events"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/lager/v3"
)

var logger = lager.NewLogger("interop")

func desiredLRP(guid, domain string, instances int32, secret string) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid: guid,
		Domain:      domain,
		RootFs:      "preloaded:cflinuxfs4",
		Instances:   instances,
		MemoryMb:    256,
		DiskMb:      512,
		LogGuid:     "log-" + guid,
		Ports:       []uint32{8080},
		EnvironmentVariables: []*models.EnvironmentVariable{
			{Name: "DATABASE_PASSWORD", Value: secret},
		},
		Action: models.WrapAction(&models.RunAction{
			Path: "/bin/app", Args: []string{"--secret", secret}, User: "vcap",
		}),
		PlacementTags: []string{"blue"},
		MetricTags:    map[string]*models.MetricTagValue{"source_id": {Static: guid}},
	}
}

func taskDef(secret string) *models.TaskDefinition {
	return &models.TaskDefinition{
		RootFs:   "preloaded:cflinuxfs4",
		MemoryMb: 128,
		DiskMb:   128,
		Action: models.WrapAction(&models.RunAction{
			Path: "/bin/sh", Args: []string{"-c", "echo " + secret}, User: "vcap",
		}),
		ResultFile: "/tmp/result",
	}
}

// wantErr asserts err is a *models.Error of the given type.
func wantErr(t *testing.T, err error, typ models.Error_Type) {
	t.Helper()
	var me *models.Error
	if !errors.As(err, &me) || me.Type != typ {
		t.Fatalf("error = %#v (%v), want type %s", err, err, typ)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ordinary(t *testing.T, c bbs.InternalClient, guid string, index int32) *models.ActualLRP {
	t.Helper()
	lrps, err := c.ActualLRPs(logger, "", models.ActualLRPFilter{ProcessGuid: guid, Index: &index})
	must(t, err)
	for _, l := range lrps {
		if l.Presence == models.ActualLRP_Ordinary {
			return l
		}
	}
	t.Fatalf("no ordinary instance %s/%d in %v", guid, index, lrps)
	return nil
}

func presences(t *testing.T, c bbs.InternalClient, guid string, index int32) map[models.ActualLRP_Presence]*models.ActualLRP {
	t.Helper()
	lrps, err := c.ActualLRPs(logger, "", models.ActualLRPFilter{ProcessGuid: guid, Index: &index})
	must(t, err)
	out := map[models.ActualLRP_Presence]*models.ActualLRP{}
	for _, l := range lrps {
		out[l.Presence] = l
	}
	return out
}

// feeds holds one reader per event source (events.EventSource → chan
// models.Event): every caller takes events from its channel. collect once
// started a reader per call, which went on reading after collect returned
// and took the events a later es.Next() was waiting for (the task
// rejection tests then waited 150 s for a later event that matched).
var feeds sync.Map

// feed is es's events, read by one goroutine until es fails (it is closed).
func feed(es events.EventSource) <-chan models.Event {
	if ch, ok := feeds.Load(es); ok {
		return ch.(chan models.Event)
	}
	ch := make(chan models.Event, 4096)
	if prev, loaded := feeds.LoadOrStore(es, ch); loaded {
		return prev.(chan models.Event)
	}
	go func() {
		defer close(ch)
		for {
			e, err := es.Next()
			if err != nil {
				return
			}
			ch <- e
		}
	}()
	return ch
}

// collect reads events until n arrive or the timeout passes.
func collect(t *testing.T, es events.EventSource, n int, timeout time.Duration) []models.Event {
	t.Helper()
	out := feed(es)
	var got []models.Event
	deadline := time.After(timeout)
	for len(got) < n {
		select {
		case e, ok := <-out:
			if !ok {
				return got
			}
			got = append(got, e)
		case <-deadline:
			return got
		}
	}
	return got
}

// nextEvent is es's next event; it fails the test if none arrives within
// timeout or the stream ends.
func nextEvent(t *testing.T, es events.EventSource, timeout time.Duration) models.Event {
	t.Helper()
	select {
	case e, ok := <-feed(es):
		if !ok {
			t.Fatal("event stream ended")
		}
		return e
	case <-time.After(timeout):
		t.Fatalf("no event within %s", timeout)
	}
	return nil
}

func types(evs []models.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.EventType()
	}
	return out
}

// startedInstance desires guid (one instance per index, domain guid) and
// claims and starts its index 0 on cell at 10.0.0.9.
func startedInstance(t *testing.T, c bbs.InternalClient, guid, cell string, instances int32) (models.ActualLRPKey, models.ActualLRPInstanceKey, models.ActualLRPNetInfo) {
	t.Helper()
	must(t, c.DesireLRP(logger, "", desiredLRP(guid, guid, instances, "x")))
	key := models.NewActualLRPKey(guid, 0, guid)
	ik := models.NewActualLRPInstanceKey(guid+"-0", cell)
	net := models.NewActualLRPNetInfo("10.0.0.9", "", models.ActualLRPNetInfo_PreferredAddressHost)
	must(t, c.ClaimActualLRP(logger, "", &key, &ik))
	must(t, c.StartActualLRP(logger, "", &key, &ik, &net, nil, nil, true, ""))
	return key, ik, net
}

// lifecycleEvents subscribes to a whole stream and one cell's, then runs an
// instance on that cell through start, crash and removal.
func lifecycleEvents(t *testing.T, c bbs.InternalClient, guid, cell string,
	subscribe func(cellID string) (events.EventSource, error)) (all, onCell events.EventSource) {
	t.Helper()
	all, err := subscribe("")
	must(t, err)
	t.Cleanup(func() { all.Close() })
	onCell, err = subscribe(cell)
	must(t, err)
	t.Cleanup(func() { onCell.Close() })
	time.Sleep(100 * time.Millisecond) // let both subscriptions register

	key, ik, _ := startedInstance(t, c, guid, cell, 1)
	must(t, c.CrashActualLRP(logger, "", &key, &ik, "boom"))
	must(t, c.RemoveDesiredLRP(logger, "", guid))
	return all, onCell
}
