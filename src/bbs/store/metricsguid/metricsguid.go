// Package metricsguid fills a desired LRP's metrics_guid and source_id metric
// tag from each other in its encoding, as the reference serves desired LRPs.
//
// The reference fills them when it serves desired LRPs (desired_lrps/list and
// get_by_process_guid, all versions: models.DesiredLRP.PopulateMetricsGuid),
// never in what it stores, in its events or in routing infos. Lists stream
// stored encodings, so the fill is appended to an encoding as fields: a later
// metrics_guid, or one more metric_tags entry, decodes as the reference's
// filled LRP. Finding out whether an LRP needs one reads only field keys and
// the metric tags' keys.
package metricsguid

import (
	"encoding/binary"
	"errors"
)

// Field numbers in models.DesiredLRP and its map and tag messages.
const (
	desiredMetricsGuidField = 18 // DesiredLRP.metrics_guid
	desiredMetricTagsField  = 35 // DesiredLRP.metric_tags, one entry per field
	mapKeyField             = 1
	mapValueField           = 2
	tagStaticField          = 1 // MetricTagValue.static
	sourceIDTag             = "source_id"
)

var errMalformed = errors.New("malformed desired LRP encoding")

// varint decodes the varint at pb[i:] and returns where it ends (0 if there
// is none). The one-byte case inlines.
func varint(pb []byte, i int) (v uint64, end int) {
	if i < len(pb) && pb[i] < 0x80 {
		return uint64(pb[i]), i + 1
	}
	return varintSlow(pb, i)
}

func varintSlow(pb []byte, i int) (v uint64, end int) {
	for shift := uint(0); i < len(pb) && shift < 64; shift += 7 {
		b := pb[i]
		i++
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v, i
		}
	}
	return 0, 0
}

// nextField reads the field at pb[i:]: its number, wire type, for a
// length-delimited field its bytes, and where the next field starts (0 if
// the encoding is malformed).
func nextField(pb []byte, i int) (field, wire uint64, val []byte, next int) {
	key, i := varint(pb, i)
	if i == 0 {
		return 0, 0, nil, 0
	}
	switch wire = key & 7; wire {
	case 0:
		_, next = varint(pb, i)
	case 1:
		next = i + 8
	case 5:
		next = i + 4
	case 2:
		l, start := varint(pb, i)
		if start == 0 || l > uint64(len(pb)-start) {
			return 0, 0, nil, 0
		}
		next = start + int(l)
		val = pb[start:next]
	}
	if next > len(pb) {
		next = 0
	}
	return key >> 3, wire, val, next
}

// lastBytes is the last length-delimited field numbered field in pb, as
// decoding keeps it.
func lastBytes(pb []byte, field uint64) (val []byte, err error) {
	for i := 0; i < len(pb); {
		f, w, v, next := nextField(pb, i)
		if next == 0 {
			return nil, errMalformed
		}
		if f == field && w == 2 {
			val = v
		}
		i = next
	}
	return val, nil
}

// Append appends to dst the fields PopulateMetricsGuid would add to the
// encoded desired LRP pb (nothing when it would add none).
func Append(dst, pb []byte) ([]byte, error) {
	var guid, tag []byte
	hasSource := false
	for i := 0; i < len(pb); {
		field, wire, val, next := nextField(pb, i)
		if next == 0 {
			return dst, errMalformed
		}
		i = next
		if wire != 2 {
			continue
		}
		switch field {
		case desiredMetricsGuidField:
			guid = val // the last occurrence wins, as in decoding
		case desiredMetricTagsField:
			name, err := lastBytes(val, mapKeyField)
			if err != nil {
				return dst, err
			}
			if string(name) == sourceIDTag {
				hasSource = true
				if tag, err = lastBytes(val, mapValueField); err != nil {
					return dst, err
				}
			}
		}
	}
	switch {
	case hasSource && len(guid) == 0:
		source, err := lastBytes(tag, tagStaticField)
		if err != nil {
			return dst, err
		}
		if len(source) > 0 {
			dst = appendBytes(dst, desiredMetricsGuidField, source)
		}
	case !hasSource && len(guid) > 0:
		entry := appendBytes(nil, mapKeyField, []byte(sourceIDTag))
		entry = appendBytes(entry, mapValueField, appendBytes(nil, tagStaticField, guid))
		dst = appendBytes(dst, desiredMetricTagsField, entry)
	}
	return dst, nil
}

// Each hands fn each encoded desired LRP as the reference serves it. The
// slice fn gets is only valid during the call.
func Each(fn func([]byte) error) func([]byte) error {
	var fill, filled []byte
	return func(pb []byte) error {
		var err error
		if fill, err = Append(fill[:0], pb); err != nil {
			return err
		}
		if len(fill) == 0 {
			return fn(pb)
		}
		filled = append(append(filled[:0], pb...), fill...)
		return fn(filled)
	}
}

// appendBytes appends a length-delimited field.
func appendBytes(dst []byte, field int, payload []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(field<<3|2))
	return append(binary.AppendUvarint(dst, uint64(len(payload))), payload...)
}
