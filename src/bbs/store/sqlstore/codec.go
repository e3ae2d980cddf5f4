package sqlstore

import (
	"errors"
	"fmt"

	"github.com/gogo/protobuf/proto"

	"github.com/diego-go/diego/src/bbs/keyring"
	"github.com/diego-go/diego/src/bbs/store"
)

// Additional authenticated data binds each sealed record to its column, so a
// payload copied into another column fails to open.
var (
	aadSchedulingInfo = []byte("desired_lrps.scheduling_info")
	aadDesiredLRP     = []byte("desired_lrps.desired_lrp")
	aadActualLRP      = []byte("actual_lrps.payload")
	aadTask           = []byte("tasks.payload")
)

// seal marshals msg and seals it under the active key.
func (s *Store) seal(aad []byte, msg proto.Message) (sealed []byte, label string, err error) {
	pb, err := proto.Marshal(msg)
	if err != nil {
		return nil, "", fmt.Errorf("marshal %T: %w", msg, err)
	}
	sealed, label, err = s.ring.Seal(aad, pb)
	if err != nil {
		return nil, "", fmt.Errorf("seal %s: %w", aad, err)
	}
	return sealed, label, nil
}

// sealPair seals the two desired LRP columns under one label (the ring can
// rotate between two Seal calls; the row has a single key_label).
func (s *Store) sealPair(aadA []byte, a proto.Message, aadB []byte, b proto.Message) ([]byte, []byte, string, error) {
	for range 3 {
		sa, la, err := s.seal(aadA, a)
		if err != nil {
			return nil, nil, "", err
		}
		sb, lb, err := s.seal(aadB, b)
		if err != nil {
			return nil, nil, "", err
		}
		if la == lb {
			return sa, sb, la, nil
		}
	}
	return nil, nil, "", errors.New("seal: active key kept changing")
}

// open decrypts a sealed column value. The result is freshly allocated.
func (s *Store) open(aad, sealed []byte) ([]byte, error) {
	return s.openTo(nil, aad, sealed)
}

// openTo is open appending to dst (see keyring.Ring.OpenTo).
func (s *Store) openTo(dst, aad, sealed []byte) ([]byte, error) {
	pb, err := s.ring.OpenTo(dst, aad, sealed)
	if err != nil {
		if errors.Is(err, keyring.ErrUnknownLabel) {
			return nil, fmt.Errorf("%w: %w", store.ErrUnknownKeyLabel, err)
		}
		return nil, fmt.Errorf("open %s: %w", aad, err)
	}
	return pb, nil
}

// decode opens a sealed column value into msg.
func (s *Store) decode(aad, sealed []byte, msg proto.Unmarshaler) error {
	pb, err := s.open(aad, sealed)
	if err != nil {
		return err
	}
	if err := msg.Unmarshal(pb); err != nil {
		return fmt.Errorf("unmarshal %s: %w", aad, err)
	}
	return nil
}

// decodeRow decodes into a new T the sealed value a one-row read returned
// (with its error); errors name the row by what and key.
func decodeRow[T any, P interface {
	*T
	proto.Unmarshaler
}](s *Store, aad, sealed []byte, err error, what, key string) (P, error) {
	if err == nil {
		msg := P(new(T))
		if err = s.decode(aad, sealed, msg); err == nil {
			return msg, nil
		}
	}
	return nil, fmt.Errorf("%s %q: %w", what, key, err)
}
