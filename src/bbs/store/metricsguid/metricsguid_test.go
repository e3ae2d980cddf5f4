package metricsguid

import (
	"fmt"
	"testing"

	"code.cloudfoundry.org/bbs/models"
	"github.com/gogo/protobuf/proto"

	"github.com/diego-go/diego/src/bbs/store/storetest"
)

// desiredWith is a full desired LRP with the given metrics_guid and tags.
func desiredWith(guid, metricsGuid string, tags map[string]*models.MetricTagValue) *models.DesiredLRP {
	d := storetest.NewDesiredLRP(guid, "d")
	d.MetricsGuid, d.MetricTags = metricsGuid, tags
	return d
}

func static(v string) *models.MetricTagValue { return &models.MetricTagValue{Static: v} }

// The fill appended to an encoding decodes as the reference's filled LRP.
func TestFillDecodesAsTheReferences(t *testing.T) {
	index := &models.MetricTagValue{Dynamic: models.MetricTagDynamicValueIndex}
	for name, tc := range map[string]struct {
		d        *models.DesiredLRP
		wantFill bool
	}{
		"both set":                    {desiredWith("a", "m", map[string]*models.MetricTagValue{"source_id": static("s")}), false},
		"source_id only":              {desiredWith("b", "", map[string]*models.MetricTagValue{"source_id": static("s"), "instance_id": index}), true},
		"metrics_guid only":           {desiredWith("c", "m", map[string]*models.MetricTagValue{"instance_id": index}), true},
		"metrics_guid, no tags":       {desiredWith("d", "m", nil), true},
		"neither":                     {desiredWith("e", "", map[string]*models.MetricTagValue{"app": static("x")}), false},
		"a dynamic source_id":         {desiredWith("f", "", map[string]*models.MetricTagValue{"source_id": index}), false},
		"an empty source_id, no guid": {desiredWith("g", "", map[string]*models.MetricTagValue{"source_id": static("")}), false},
	} {
		t.Run(name, func(t *testing.T) {
			pb, err := proto.Marshal(tc.d)
			if err != nil {
				t.Fatal(err)
			}
			fill, err := Append(nil, pb)
			if err != nil || (len(fill) > 0) != tc.wantFill {
				t.Fatalf("fill %x, %v; want a fill: %v", fill, err, tc.wantFill)
			}
			var got models.DesiredLRP
			if err := proto.Unmarshal(append(pb, fill...), &got); err != nil {
				t.Fatal(err)
			}
			if want := tc.d.Copy().PopulateMetricsGuid(); !got.Equal(want) {
				t.Fatalf("decoded %s/%v, want %s/%v", got.MetricsGuid, got.MetricTags, want.MetricsGuid, want.MetricTags)
			}
			var served []byte
			if err := Each(func(pb []byte) error { served = append(served, pb...); return nil })(pb); err != nil ||
				string(served) != string(append(pb, fill...)) {
				t.Fatalf("Each served %x, %v", served, err)
			}
		})
	}
	for _, bad := range [][]byte{{0x0a, 0x05, 'a'}, {0x80}, {0x0b}} {
		if _, err := Append(nil, bad); err == nil {
			t.Fatalf("malformed encoding %x was not refused", bad)
		}
	}
}

// BenchmarkEach hands on 10,000 encoded desired LRPs: "stored" as they are,
// "checked" through Each when none needs a fill (CC sets both), "filled"
// when each needs one.
func BenchmarkEach(b *testing.B) {
	const n = 10_000
	encode := func(metricsGuid bool) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			d := storetest.NewDesiredLRP(fmt.Sprintf("%08d-aaaa-bbbb-cccc-dddddddddddd", i), "cf-apps")
			d.MetricTags["instance_id"] = &models.MetricTagValue{Dynamic: models.MetricTagDynamicValueIndex}
			if !metricsGuid {
				d.MetricsGuid = ""
			}
			out[i], _ = proto.Marshal(d)
		}
		return out
	}
	complete, sourceOnly := encode(true), encode(false)
	sink := func(pb []byte) error { return nil }
	for _, bc := range []struct {
		name string
		lrps [][]byte
		fn   func([]byte) error
	}{
		{"stored", complete, sink},
		{"checked", complete, Each(sink)},
		{"filled", sourceOnly, Each(sink)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, pb := range bc.lrps {
					if err := bc.fn(pb); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/lrp")
		})
	}
}
