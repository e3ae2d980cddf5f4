package chaos

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/target"
)

// WriteAudit is what the write check found.
type WriteAudit struct {
	Acked, Unacked int
	// Lost lists the acknowledged writes whose effect is not in the BBS.
	Lost []string
	// Duplicates lists the guids present more than once.
	Duplicates []string
	// Wrong lists unacknowledged writes that left a state neither before
	// nor after them.
	Wrong []string
}

// OK reports a clean audit.
func (a WriteAudit) OK() bool { return len(a.Lost)+len(a.Duplicates)+len(a.Wrong) == 0 }

func (a WriteAudit) String() string {
	return fmt.Sprintf("%d acknowledged, %d not; lost %v; duplicated %v; inconsistent %v", a.Acked, a.Unacked, a.Lost, a.Duplicates, a.Wrong)
}

// CheckWrites compares every recorded write with the BBS: each
// acknowledged write's effect is there exactly once; an unacknowledged one
// left the state before it or after it, never a duplicate. completed are
// the tasks the runner deleted after they completed.
func CheckWrites(cl bbs.Client, ops []WriteOp, completed map[string]bool) (WriteAudit, error) {
	var a WriteAudit
	desired, err := cl.DesiredLRPs(lg, "", models.DesiredLRPFilter{Domain: Domain})
	if err != nil {
		return a, fmt.Errorf("listing desired LRPs: %w", err)
	}
	tasks, err := cl.TasksWithFilter(lg, "", models.TaskFilter{Domain: Domain})
	if err != nil {
		return a, fmt.Errorf("listing tasks: %w", err)
	}
	lrpCount, annotations := map[string]int{}, map[string]string{}
	for _, d := range desired {
		lrpCount[d.ProcessGuid]++
		annotations[d.ProcessGuid] = d.Annotation
	}
	taskCount := map[string]int{}
	for _, t := range tasks {
		taskCount[t.TaskGuid]++
	}
	for g, n := range lrpCount {
		if n > 1 {
			a.Duplicates = append(a.Duplicates, fmt.Sprintf("LRP %s ×%d", g, n))
		}
	}
	for g, n := range taskCount {
		if n > 1 {
			a.Duplicates = append(a.Duplicates, fmt.Sprintf("task %s ×%d", g, n))
		}
	}
	// The states each LRP may be in: "absent" or its annotation.
	allowed := map[string][]string{}
	lastAcked := map[string]string{}
	var order []string
	for _, op := range ops {
		if op.Acked {
			a.Acked++
		} else {
			a.Unacked++
		}
		if op.Kind == DesireTsk {
			switch {
			case completed[op.Guid] || taskCount[op.Guid] == 1:
			case op.Acked:
				a.Lost = append(a.Lost, "desire task "+op.Guid)
			}
			continue
		}
		if _, ok := allowed[op.Guid]; !ok {
			allowed[op.Guid] = []string{"absent"}
			order = append(order, op.Guid)
		}
		after := "absent"
		if op.Kind != RemoveLRP {
			after = annotation(op.Version)
		}
		if op.Acked {
			allowed[op.Guid] = []string{after}
			lastAcked[op.Guid] = fmt.Sprintf("%s %s (%s)", op.Kind, op.Guid, after)
		} else if !slices.Contains(allowed[op.Guid], after) {
			allowed[op.Guid] = append(allowed[op.Guid], after)
		}
	}
	for _, g := range order {
		got := "absent"
		if lrpCount[g] > 0 {
			got = annotations[g]
		}
		if slices.Contains(allowed[g], got) {
			continue
		}
		if last, ok := lastAcked[g]; ok {
			a.Lost = append(a.Lost, fmt.Sprintf("%s: the BBS has %s", last, got))
		} else {
			a.Wrong = append(a.Wrong, fmt.Sprintf("%s: the BBS has %s, want one of %v", g, got, allowed[g]))
		}
	}
	return a, nil
}

// CheckConverged returns the ways the cluster differs from a settled one
// (nil when none): every desired LRP has exactly its instances RUNNING, no
// index RUNNING twice (in the BBS or across the cells' containers), and
// no container on a cell the BBS does not know there (an orphan).
func CheckConverged(t target.File, cl bbs.Client) ([]string, error) {
	desired, err := cl.DesiredLRPs(lg, "", models.DesiredLRPFilter{})
	if err != nil {
		return nil, fmt.Errorf("listing desired LRPs: %w", err)
	}
	actuals, err := cl.ActualLRPs(lg, "", models.ActualLRPFilter{})
	if err != nil {
		return nil, fmt.Errorf("listing actual LRPs: %w", err)
	}
	tasks, err := cl.Tasks(lg, "")
	if err != nil {
		return nil, fmt.Errorf("listing tasks: %w", err)
	}
	cells, err := cl.Cells(lg, "")
	if err != nil {
		return nil, fmt.Errorf("listing cells: %w", err)
	}
	var problems []string
	running := map[string]map[int32]int{}
	byInstance := map[string]*models.ActualLRP{}
	states := map[string][]string{}
	for _, l := range actuals {
		byInstance[l.InstanceGuid] = l
		st := fmt.Sprintf("%d:%s", l.Index, l.State)
		if l.PlacementError != "" {
			st += "(" + l.PlacementError + ")"
		}
		if l.CellId != "" {
			st += "@" + l.CellId
		}
		states[l.ProcessGuid] = append(states[l.ProcessGuid], st)
		if l.State == models.ActualLRPStateRunning {
			if running[l.ProcessGuid] == nil {
				running[l.ProcessGuid] = map[int32]int{}
			}
			running[l.ProcessGuid][l.Index]++
		}
	}
	for _, d := range desired {
		n := 0
		for idx, c := range running[d.ProcessGuid] {
			if c > 1 {
				problems = append(problems, fmt.Sprintf("%s index %d RUNNING %d times in the BBS", d.ProcessGuid, idx, c))
			}
			if idx < d.Instances {
				n++
			}
		}
		if n != int(d.Instances) {
			problems = append(problems, fmt.Sprintf("%s: %d of %d instances RUNNING %v", d.ProcessGuid, n, d.Instances, states[d.ProcessGuid]))
		}
	}
	taskCell := map[string]string{}
	for _, tk := range tasks {
		taskCell[tk.TaskGuid] = tk.CellId
	}
	cellSt, err := cellStates(t, cells)
	if err != nil {
		return nil, err
	}
	containers := map[string][]string{} // guid/index -> cells running it
	ids := make([]string, 0, len(cellSt))
	for id := range cellSt {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		st := cellSt[id]
		for _, l := range st.LRPs {
			if a := byInstance[l.InstanceGUID]; a == nil || a.CellId != id {
				problems = append(problems, fmt.Sprintf("orphan container on %s: %s index %d instance %s (%s) unknown to the BBS there", id, l.ProcessGuid, l.Index, l.InstanceGUID, l.State))
			}
			if strings.EqualFold(l.State, "RUNNING") {
				k := fmt.Sprintf("%s/%d", l.ProcessGuid, l.Index)
				containers[k] = append(containers[k], id)
			}
		}
		for _, tk := range st.Tasks {
			if cell, ok := taskCell[tk.TaskGuid]; !ok || cell != id {
				problems = append(problems, fmt.Sprintf("orphan task container on %s: %s unknown to the BBS there", id, tk.TaskGuid))
			}
		}
	}
	for k, on := range containers {
		if len(on) > 1 {
			problems = append(problems, fmt.Sprintf("%s RUNNING in containers on %v", k, on))
		}
	}
	sort.Strings(problems)
	return problems, nil
}

// cellStates reads GET /state of every cell the BBS lists.
func cellStates(t target.File, cells []*models.CellPresence) (map[string]rep.CellState, error) {
	tlsConfig := &rep.TLSConfig{CaCertFile: t.CACert, CertFile: t.ClientCert, KeyFile: t.ClientKey, RequireTLS: true}
	newClient := func() *http.Client { return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}} }
	f, err := rep.NewClientFactory(newClient(), newClient(), tlsConfig)
	if err != nil {
		return nil, fmt.Errorf("rep clients: %w", err)
	}
	out := map[string]rep.CellState{}
	for _, c := range cells {
		rc, err := f.CreateClient(c.RepAddress, c.RepUrl, "")
		if err != nil {
			return nil, fmt.Errorf("rep client for %s: %w", c.CellId, err)
		}
		st, err := rc.State(lg)
		if err != nil {
			return nil, fmt.Errorf("state of %s (%s): %w", c.CellId, c.RepUrl, err)
		}
		out[c.CellId] = st
	}
	return out, nil
}
