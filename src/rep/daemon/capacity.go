package daemon

import (
	"errors"
)

// errAutoDiskCapacity is the reference executor's error for an automatic
// disk capacity the download cache's bound leaves nothing of.
var errAutoDiskCapacity = errors.New("auto disk limit must result in a positive number")

// advertisedDiskMB is the disk the cell offers given what its backend
// reports. When disk_mb is automatic (0: the backend measures the machine
// or Garden reports its own), the download cache's bound is taken off, as
// the reference executor does for disk_mb "auto"; an operator's disk_mb is
// offered as it is.
func advertisedDiskMB(cfg Settings, reportedMB int64) (int64, error) {
	if cfg.DiskMB != 0 {
		return reportedMB, nil
	}
	mb := (reportedMB<<20 - cfg.MaxCacheSizeInBytes) >> 20
	if mb <= 0 {
		return 0, errAutoDiskCapacity
	}
	return mb, nil
}
