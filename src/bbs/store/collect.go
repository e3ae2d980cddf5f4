package store

import (
	"context"

	"github.com/gogo/protobuf/proto"
)

// Collect gathers what each (one of a Store's streaming EachX methods)
// streams for filter f, each row decoded into a new T, in stream order.
func Collect[T any, F any, PT interface {
	*T
	proto.Message
}](ctx context.Context, each func(context.Context, F, func([]byte) error) error, f F) ([]PT, error) {
	var out []PT
	err := each(ctx, f, func(pb []byte) error {
		m := PT(new(T))
		if err := proto.Unmarshal(pb, m); err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	return out, err
}
