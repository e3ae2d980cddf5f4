package host

import (
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/diego-go/diego/src/rep/container"
)

// List returns the containers of cs that visible accepts, sorted by handle
// (a backend's Containers).
func List[C container.Container](cs iter.Seq[C], visible func(C) bool) []container.Container {
	out := []container.Container{}
	for c := range cs {
		if visible(c) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(x, y container.Container) int { return strings.Compare(x.Handle(), y.Handle()) })
	return out
}

// Admit checks that a backend holding cs can create handle: it is not there
// yet and fewer than maxContainers are.
func Admit[C any](cs map[string]C, handle string, maxContainers int) error {
	if _, ok := cs[handle]; ok {
		return fmt.Errorf("%w: %s", container.ErrExists, handle)
	}
	if len(cs) >= maxContainers {
		return fmt.Errorf("%w: %d containers", container.ErrNoCapacity, len(cs))
	}
	return nil
}
