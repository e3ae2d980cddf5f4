// Package view builds the Hub's read models from BBS, Locket and rep state:
// pure functions and plain data, no sockets and no clock.
package view

import "time"

// Usage is a capacity: total and used.
type Usage struct {
	Total int64 `json:"total"`
	Used  int64 `json:"used"`
}

// Zone sums the cells of one availability zone.
type Zone struct {
	Zone       string `json:"zone"`
	Cells      int    `json:"cells"`
	MemoryMB   Usage  `json:"memory_mb"`
	DiskMB     Usage  `json:"disk_mb"`
	Containers Usage  `json:"containers"`
}

// Cell is one row of the cells view.
type Cell struct {
	CellID                string   `json:"cell_id"`
	Zone                  string   `json:"zone"`
	RepURL                string   `json:"rep_url"`
	MemoryMB              Usage    `json:"memory_mb"`
	DiskMB                Usage    `json:"disk_mb"`
	Containers            Usage    `json:"containers"`
	PlacementTags         []string `json:"placement_tags"`
	OptionalPlacementTags []string `json:"optional_placement_tags"`
	Evacuating            bool     `json:"evacuating"`
	Missing               bool     `json:"missing"`
	Instances             int      `json:"instances"`
	// StateError says why the rep's state is unknown ("" when it answered).
	StateError string `json:"state_error,omitempty"`
}

// App is one row of the apps view: a desired LRP and its instances' states.
type App struct {
	ProcessGuid string   `json:"process_guid"`
	Domain      string   `json:"domain"`
	Instances   int      `json:"instances"`
	Running     int      `json:"running"`
	Crashed     int      `json:"crashed"`
	Starting    int      `json:"starting"`
	Unclaimed   int      `json:"unclaimed"`
	Routes      []string `json:"routes"`
	MemoryMB    int      `json:"memory_mb"`
	DiskMB      int      `json:"disk_mb"`
}

// Port is an instance's port mapping.
type Port struct {
	ContainerPort uint32 `json:"container_port"`
	HostPort      uint32 `json:"host_port"`
}

// Instance is one actual LRP of an app.
type Instance struct {
	Index          int32     `json:"index"`
	InstanceGuid   string    `json:"instance_guid"`
	State          string    `json:"state"`
	CellID         string    `json:"cell_id"`
	Address        string    `json:"address"`
	Ports          []Port    `json:"ports"`
	CrashCount     int32     `json:"crash_count"`
	CrashReason    string    `json:"crash_reason"`
	Since          time.Time `json:"since"`
	PlacementError string    `json:"placement_error"`
	Evacuating     bool      `json:"evacuating"`
}

// Task is one row of the tasks view.
type Task struct {
	TaskGuid      string    `json:"task_guid"`
	Domain        string    `json:"domain"`
	State         string    `json:"state"`
	CellID        string    `json:"cell_id"`
	Failed        bool      `json:"failed"`
	FailureReason string    `json:"failure_reason"`
	Result        string    `json:"result"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Lock is a Locket lock and who holds it.
type Lock struct {
	Key   string `json:"key"`
	Owner string `json:"owner"`
	Type  string `json:"type"`
}

// CellCounts are the overview's cell figures.
type CellCounts struct {
	Total      int `json:"total"`
	Missing    int `json:"missing"`
	Evacuating int `json:"evacuating"`
}

// InstanceCounts are the overview's instance figures.
type InstanceCounts struct {
	Desired   int `json:"desired"`
	Running   int `json:"running"`
	Crashed   int `json:"crashed"`
	Starting  int `json:"starting"`
	Unclaimed int `json:"unclaimed"`
}

// TaskCounts are the overview's task figures.
type TaskCounts struct {
	Pending   int `json:"pending"`
	Running   int `json:"running"`
	Completed int `json:"completed"`
	Resolving int `json:"resolving"`
}

// Overview is GET /api/overview.
type Overview struct {
	Cells     CellCounts     `json:"cells"`
	Apps      int            `json:"apps"`
	Instances InstanceCounts `json:"instances"`
	Tasks     TaskCounts     `json:"tasks"`
	Locks     []Lock         `json:"locks"`
	UpdatedAt time.Time      `json:"updated_at"`
}
