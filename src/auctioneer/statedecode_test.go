package auctioneer

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"
)

// randomState is a cell state with n LRPs and a little of everything else,
// as a rep encodes it.
func randomState(r *rand.Rand, n int) rep.CellState {
	st := rep.CellState{
		RepURL: "https://cell.example:1801", CellID: fmt.Sprintf("cell-%d", r.IntN(100)), CellIndex: r.IntN(5),
		RootFSProviders: rep.RootFSProviders{
			"preloaded": rep.NewFixedSetRootFSProvider("cflinuxfs4"),
			"docker":    rep.ArbitraryRootFSProvider{},
		},
		AvailableResources: rep.Resources{MemoryMB: int32(r.IntN(1 << 16)), DiskMB: 100, Containers: 250},
		TotalResources:     rep.Resources{MemoryMB: 1 << 16, DiskMB: 1 << 17, Containers: 250},
		Tasks:              []rep.Task{{TaskGuid: "t-1", Domain: "d", Resource: rep.NewResource(1, 2, 3)}},
		Zone:               "z1", Evacuating: r.IntN(2) == 0,
		VolumeDrivers:           []string{"nfs"},
		PlacementTags:           []string{`odd "tag" ]}`},
		StartingContainerCount:  r.IntN(10),
		ProxyMemoryAllocationMB: 32,
	}
	for range n {
		st.LRPs = append(st.LRPs, randomLRP(r))
	}
	return st
}

func randomLRP(r *rand.Rand) rep.LRP {
	pg := fmt.Sprintf("pg-%d", r.IntN(50))
	lrp := rep.NewLRP(fmt.Sprintf("ig-%d", r.Uint64()),
		models.NewActualLRPKey(pg, int32(r.IntN(20)), "dom"),
		rep.NewResource(int32(r.IntN(1024)), 1024, 100),
		rep.NewPlacementConstraint("preloaded:cflinuxfs4", []string{"t\\\"[{"}, nil))
	lrp.State = []string{"CLAIMED", "RUNNING", ""}[r.IntN(3)]
	return lrp
}

// unmarshal is the reference: json.Unmarshal of the whole body.
func unmarshal(body []byte) (rep.CellState, error) {
	var st rep.CellState
	err := json.Unmarshal(body, &st)
	return st, err
}

func TestDecodeStateMatchesUnmarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var cache *lrpCache
	st := randomState(r, 30)
	for round := range 200 {
		// Change a few LRPs, add some and remove some, as a busy cell does.
		for range r.IntN(4) {
			if len(st.LRPs) > 0 {
				st.LRPs[r.IntN(len(st.LRPs))].State = "RUNNING"
			}
		}
		for range r.IntN(3) {
			i := r.IntN(len(st.LRPs) + 1)
			st.LRPs = append(st.LRPs[:i], append([]rep.LRP{randomLRP(r)}, st.LRPs[i:]...)...)
		}
		for range r.IntN(3) {
			if len(st.LRPs) > 0 {
				i := r.IntN(len(st.LRPs))
				st.LRPs = append(st.LRPs[:i], st.LRPs[i+1:]...)
			}
		}
		if round%50 == 49 {
			st.LRPs = []rep.LRP{}
		}
		body, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		want, err := unmarshal(body)
		if err != nil {
			t.Fatal(err)
		}
		got, next, err := decodeState(body, cache)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: decodeState differs from json.Unmarshal:\n got %+v\nwant %+v", round, got, want)
		}
		if next == nil || len(next.lrps) != len(got.LRPs) {
			t.Fatalf("round %d: cache holds %+v for %d LRPs", round, next, len(got.LRPs))
		}
		cache = next
	}
}

// TestDecodeStateReusesCachedLRPs: an LRP whose bytes are in the cache is
// taken from it, not decoded again (a planted entry shows which).
func TestDecodeStateReusesCachedLRPs(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	st := randomState(r, 3)
	body, _ := json.Marshal(st)
	_, cache, err := decodeState(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cache.lrps) != 3 {
		t.Fatalf("cache has %d LRPs, want 3", len(cache.lrps))
	}
	cache.lrps[1].InstanceGUID = "from-the-cache"
	got, _, err := decodeState(body, cache)
	if err != nil {
		t.Fatal(err)
	}
	if got.LRPs[1].InstanceGUID != "from-the-cache" || got.LRPs[0].InstanceGUID != st.LRPs[0].InstanceGUID {
		t.Fatalf("cached LRP not reused: %+v", got.LRPs)
	}

	// Around an LRP inserted, removed or changed, the others still come
	// from the cache.
	for _, tc := range []struct {
		name   string
		change func([]rep.LRP) []rep.LRP
		at     int // where the planted LRP (the last body's LRPs[2]) is now
	}{
		{"inserted before", func(l []rep.LRP) []rep.LRP { return append(l[:1:1], append([]rep.LRP{randomLRP(r)}, l[1:]...)...) }, 3},
		{"removed before", func(l []rep.LRP) []rep.LRP { return append(l[:1:1], l[2:]...) }, 1},
		{"changed before", func(l []rep.LRP) []rep.LRP { l = slices.Clone(l); l[1].State = "CRASHED"; return l }, 2},
	} {
		st := randomState(r, 4)
		body, _ := json.Marshal(st)
		_, cache, err := decodeState(body, nil)
		if err != nil {
			t.Fatal(err)
		}
		cache.lrps[2].InstanceGUID = "planted"
		st.LRPs = tc.change(st.LRPs)
		body, _ = json.Marshal(st)
		got, _, err := decodeState(body, cache)
		if err != nil {
			t.Fatal(err)
		}
		if got.LRPs[tc.at].InstanceGUID != "planted" {
			t.Errorf("%s: LRP %d was decoded again, not taken from the cache", tc.name, tc.at)
		}
		st.LRPs[tc.at].InstanceGUID = "planted"
		if !reflect.DeepEqual(got.LRPs, st.LRPs) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got.LRPs, st.LRPs)
		}
	}
}

func TestDecodeStateOddBodies(t *testing.T) {
	lrp := `{"instance_guid":"i","process_guid":"p","index":1,"domain":"d","rootfs":"r","memory_mb":5,"state":"RUNNING"}`
	for _, body := range []string{
		`{"LRPs":null,"cell_id":"c"}`,
		`{"LRPs":[],"cell_id":"c"}`,
		` { "cell_id" : "c" , "LRPs" : [ ` + lrp + ` , null , ` + lrp + ` ] } `,
		`{"lrps":[` + lrp + `]}`,
		`{"lRpS":[` + lrp + `]}`,
		`{"LRPs":[` + lrp + `],"lrps":[]}`,
		`{"LRP\u0073":[` + lrp + `]}`,
		`{"Tasks":[{"LRPs":[1]}],"LRPs":[` + lrp + `]}`,
		`{"cell_id":"a]\"}{[","LRPs":[` + lrp + `]}`,
		`{"cell_id":"c"}`,
		`{"LRPs":[` + lrp + `]} trailing`,
		`{"LRPs":[` + lrp + ` ` + lrp + `]}`,
		`{"LRPs":[` + lrp + `,]}`,
		`{"LRPs":[1]}`,
		`{"LRPs":{"a":1}}`,
		`{"LRPs":5}`,
		`{"LRPs":[{"index":"one"}]}`,
		`{"LRPs":[{"instance_guid":"\u00e9\ud800"}]}`,
		`{"LRPs":[{"instance_guid":"` + "\x01" + `"}]}`,
		`{"LRPs":[` + lrp + `],"cell_index":"x"}`,
		`{"LRPs":[` + lrp + `]`,
		`{"LRPs":[` + lrp,
		`{"LRPs"`,
		`{`,
		``,
		`[]`,
		`null`,
	} {
		want, wantErr := unmarshal([]byte(body))
		got, _, err := decodeState([]byte(body), nil)
		if (err != nil) != (wantErr != nil) {
			t.Errorf("%s: error %v, json.Unmarshal's %v", body, err, wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", body, got, want)
		}
	}
}

func FuzzDecodeState(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	prev, _ := json.Marshal(randomState(r, 4))
	f.Add(prev)
	next := randomState(r, 4)
	next.LRPs[0] = randomLRP(r)
	b, _ := json.Marshal(next)
	f.Add(b)
	f.Add([]byte(`{"lrps":[null,{"index":2}],"cell_id":"x"}`))
	f.Add([]byte(`{"LRPs":[{"state":"a\"],"}]}`))
	_, cache, err := decodeState(prev, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		want, wantErr := unmarshal(body)
		for _, c := range []*lrpCache{nil, cache} {
			got, _, err := decodeState(body, c)
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("%q: error %v, json.Unmarshal's %v", body, err, wantErr)
			}
			if err == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("%q:\n got %+v\nwant %+v", body, got, want)
			}
		}
	})
}

// BenchmarkDecodeState decodes a 208-instance cell state (the full
// preset's average) in which 2 instances changed since the last one, as
// json.Unmarshal and as decodeState with the last state's cache.
func BenchmarkDecodeState(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	st := randomState(r, 208)
	prev, _ := json.Marshal(st)
	st.LRPs[10].State, st.LRPs[100].State = "RUNNING", "CRASHED"
	body, _ := json.Marshal(st)
	_, cache, _ := decodeState(prev, nil)
	b.Run("unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := unmarshal(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, _, err := decodeState(body, cache); err != nil {
				b.Fatal(err)
			}
		}
	})
}
