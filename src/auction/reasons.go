package auction

import (
	"sort"
	"strings"
)

// Placement errors, worded exactly as the reference's.
const (
	ReasonRootFS        = "found no compatible cell for required rootfs"
	ReasonVolumeDrivers = "found no compatible cell with required volume drivers"
	ReasonNoCells       = "unable to communicate to compatible cells"
	// ReasonInflightLimit is the reference's error for a request over the
	// starting-container cap. Schedule defers such requests instead of
	// failing them; the string is here for callers that report the wait.
	ReasonInflightLimit = "waiting to start instance: reached in-flight start limit"
)

// placementTagsReason is the reference's message when no cell matches the
// workload's placement tags, listing them in the order given:
// `... with placement tags "a", "b" and "c"`.
func placementTagsReason(tags []string) string {
	const prefix = "found no compatible cell with "
	switch len(tags) {
	case 0:
		return prefix + "no placement tags"
	case 1:
		return prefix + `placement tag "` + tags[0] + `"`
	}
	quoted := make([]string, len(tags)-1)
	for i, t := range tags[:len(tags)-1] {
		quoted[i] = `"` + t + `"`
	}
	return prefix + "placement tags " + strings.Join(quoted, ", ") + ` and "` + tags[len(tags)-1] + `"`
}

// Resource names, as rep.InsufficientResourcesError spells them.
const (
	resMemory     = "memory"
	resDisk       = "disk"
	resContainers = "containers"
)

// insufficientReason is rep.InsufficientResourcesError's message for the
// resources that every compatible cell lacked, sorted by name.
func insufficientReason(missing []string) string {
	if len(missing) == 0 {
		return "insufficient resources"
	}
	sort.Strings(missing)
	return "insufficient resources: " + strings.Join(missing, ", ")
}
