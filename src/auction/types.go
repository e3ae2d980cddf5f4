package auction

import (
	"errors"
	"math"

	"code.cloudfoundry.org/rep"
)

// LRP is a request to start one instance of a long-running process.
type LRP struct {
	ProcessGuid, Domain string
	Index               int32
	Resource            rep.Resource            // MemoryMB, DiskMB, MaxPids
	Constraint          rep.PlacementConstraint // RootFs, PlacementTags, VolumeDrivers
}

// Task is a request to start one task.
type Task struct {
	TaskGuid, Domain string
	Resource         rep.Resource
	Constraint       rep.PlacementConstraint
}

// Batch is one round's start requests.
type Batch struct {
	LRPs  []LRP
	Tasks []Task
}

// Config holds the scheduler's weights and limits. The zero value is valid:
// every weight off, no limit, seed 0.
type Config struct {
	// StartingContainerWeight is added to a cell's score per container
	// starting on it (0.25 in the reference).
	StartingContainerWeight float64
	// BinPackFirstFitWeight, when above 0, is added to an LRP's score per unit
	// of cell index, so lower-indexed cells fill first. Tasks ignore it, as in
	// the reference.
	BinPackFirstFitWeight float64
	// StartingContainerCountMaximum caps the containers starting at once
	// across the cluster: the cells' StartingContainerCount plus this batch's
	// placements. Requests over the cap go to Result.Deferred. 0 = no cap.
	StartingContainerCountMaximum int
	// Seed seeds tie-breaking: the same cells, batch, config and seed give
	// the same placements.
	Seed uint64
}

// DefaultStartingContainerWeight is the reference's default.
const DefaultStartingContainerWeight = 0.25

// DefaultConfig is the reference's default configuration.
func DefaultConfig() Config {
	return Config{StartingContainerWeight: DefaultStartingContainerWeight}
}

// Validate rejects weights that are negative or not finite and a negative
// cap. Schedule treats a weight that is not finite as 0 and a negative cap
// as no cap.
func (c Config) Validate() error {
	var errs []error
	if !finite(c.StartingContainerWeight) || c.StartingContainerWeight < 0 {
		errs = append(errs, errors.New("auction: StartingContainerWeight must be finite and not negative"))
	}
	if !finite(c.BinPackFirstFitWeight) || c.BinPackFirstFitWeight < 0 {
		errs = append(errs, errors.New("auction: BinPackFirstFitWeight must be finite and not negative"))
	}
	if c.StartingContainerCountMaximum < 0 {
		errs = append(errs, errors.New("auction: StartingContainerCountMaximum must not be negative"))
	}
	return errors.Join(errs...)
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// sanitized is c with weights that are not finite set to 0.
func (c Config) sanitized() Config {
	if !finite(c.StartingContainerWeight) {
		c.StartingContainerWeight = 0
	}
	if !finite(c.BinPackFirstFitWeight) {
		c.BinPackFirstFitWeight = 0
	}
	return c
}

// LRPFailure is an LRP instance that no cell can take, with the placement
// error the BBS records.
type LRPFailure struct {
	LRP    LRP
	Reason string
}

// TaskFailure is a task that no cell can take, with the rejection reason.
type TaskFailure struct {
	Task   Task
	Reason string
}

// Result is the outcome of one round. Every deduplicated request appears
// exactly once: placed on a cell, failed, or deferred.
type Result struct {
	LRPs        map[string][]LRP  // cell id -> LRP instances placed there, in placement order
	Tasks       map[string][]Task // cell id -> tasks placed there, in placement order
	FailedLRPs  []LRPFailure
	FailedTasks []TaskFailure
	// Deferred holds the requests left out of this round because the
	// cluster reached StartingContainerCountMaximum; submit them again later.
	Deferred Batch
}
