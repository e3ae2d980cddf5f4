package api

import (
	"errors"
	"fmt"

	"code.cloudfoundry.org/rep"
)

// validateWork refuses work whose resources could not be reserved as
// asked: a negative memory, disk or process limit would grow the cell's
// free capacity instead of using it.
func validateWork(w rep.Work) error {
	var errs []error
	for i, l := range w.LRPs {
		if err := validateResource(l.Resource); err != nil {
			errs = append(errs, fmt.Errorf("lrps[%d] (%s index %d): %w", i, l.ProcessGuid, l.Index, err))
		}
	}
	for i, t := range w.Tasks {
		if err := validateResource(t.Resource); err != nil {
			errs = append(errs, fmt.Errorf("tasks[%d] (%s): %w", i, t.TaskGuid, err))
		}
	}
	return errors.Join(errs...)
}

func validateResource(r rep.Resource) error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int32
	}{{"memory_mb", r.MemoryMB}, {"disk_mb", r.DiskMB}, {"max_pids", r.MaxPids}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s %d must not be negative", f.name, f.v))
		}
	}
	return errors.Join(errs...)
}
