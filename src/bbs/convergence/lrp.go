package convergence

import (
	"slices"

	"code.cloudfoundry.org/bbs/models"
)

// auctioned are the decisions after which the index is auctioned.
const auctioned = Reauction | Unclaim | MarkSuspect | ReplaceSuspect | CreateMissing | RestartCrashed

// group is the rows of one (process guid, index), with which of them name
// a cell holding no presence.
type group struct {
	rows                []*models.ActualLRP
	o, s, e             *models.ActualLRP
	oGone, sGone, eGone bool
}

// onCell reports whether the row's state places it on a cell.
func onCell(l *models.ActualLRP) bool {
	return l.State == models.ActualLRPStateClaimed || l.State == models.ActualLRPStateRunning
}

// split sorts out one index's rows (the first row of each presence wins) and
// looks up each placed row's cell once. An ORDINARY row is placed when
// CLAIMED or RUNNING; SUSPECT and EVACUATING rows always are.
func (d *decider) split(rows []*models.ActualLRP) group {
	g := group{rows: rows[:len(rows):len(rows)]}
	for _, l := range rows {
		switch {
		case l.Presence == models.ActualLRP_Ordinary && g.o == nil:
			g.o = l
			g.oGone = onCell(l) && d.goneCell(l)
		case l.Presence == models.ActualLRP_Suspect && g.s == nil:
			g.s, g.sGone = l, d.goneCell(l)
		case l.Presence == models.ActualLRP_Evacuating && g.e == nil:
			g.e, g.eGone = l, d.goneCell(l)
		}
	}
	return g
}

// goneCell reports whether l's cell holds no presence, noting it if so.
func (d *decider) goneCell(l *models.ActualLRP) bool {
	if d.present(l.CellId) {
		return false
	}
	if onCell(l) {
		d.noteMissingCell(l.CellId)
	}
	return true
}

// lrps decides every index of every desired LRP, then the orphans.
func (d *decider) lrps() {
	x := buildIndex(d.s.Desired, d.s.Actual)
	skip := x.skip
	for p, dl := range d.s.Desired {
		if len(skip) > 0 && skip[0] == p {
			skip = skip[1:]
			continue
		}
		d.desiredLRP(dl, x.bucket(p))
	}
	d.orphans(x.orphans)
}

// desiredLRP walks the rows of one desired LRP index by index, deciding each
// index that has rows and creating each wanted index that has none.
func (d *decider) desiredLRP(dl *models.DesiredLRPSchedulingInfo, rows []*models.ActualLRP) {
	c := &d.p.Counts
	n := max(dl.Instances, 0)
	c.DesiredLRPs++
	c.DesiredInstances += int(n)
	sortSmall(rows)
	next, crashing := int32(0), false
	for lo := 0; lo < len(rows); {
		idx := rows[lo].Index
		hi := lo + 1
		for hi < len(rows) && rows[hi].Index == idx {
			hi++
		}
		for ; next < idx && next < n; next++ {
			d.missingIndex(dl, next)
		}
		next = max(next, idx+1)
		g := d.split(rows[lo:hi])
		crashing = d.count(g) || crashing
		key := models.NewActualLRPKey(dl.ProcessGuid, idx, dl.Domain)
		if idx >= 0 && idx < n {
			d.emit(key, dl, g, d.wanted(g), nil)
		} else {
			c.Extra += btoi(g.o != nil)
			d.retire(key, dl, g, RetireExtra)
		}
		lo = hi
	}
	for ; next < n; next++ {
		d.missingIndex(dl, next)
	}
	c.CrashingDesired += btoi(crashing)
}

// missingIndex creates an index that has no row at all.
func (d *decider) missingIndex(dl *models.DesiredLRPSchedulingInfo, idx int32) {
	d.p.Counts.Missing++
	d.emit(models.NewActualLRPKey(dl.ProcessGuid, idx, dl.Domain), dl, group{}, CreateMissing, nil)
}

// wanted decides an index below the desired instance count.
func (d *decider) wanted(g group) Reason {
	var why Reason
	if g.eGone {
		why |= RemoveEvacuating
	}
	o, s := g.o, g.s
	if s != nil {
		switch {
		case o != nil && o.State == models.ActualLRPStateRunning && !g.oGone:
			return why | RemoveSuspect
		case !g.sGone:
			return why | PromoteSuspect
		}
	}
	if o == nil {
		if s != nil {
			return why | ReplaceSuspect
		}
		d.p.Counts.Missing++
		return why | CreateMissing
	}
	switch o.State {
	case models.ActualLRPStateUnclaimed:
		if d.s.Now-o.Since > int64(d.cfg.StaleUnclaimedAfter) {
			why |= Reauction
		}
	case models.ActualLRPStateClaimed:
		if g.oGone {
			why |= Unclaim
		}
	case models.ActualLRPStateRunning:
		if g.oGone && s != nil {
			why |= Unclaim // the suspect keeps the index; re-place the lost replacement
		} else if g.oGone {
			why |= MarkSuspect
		}
	case models.ActualLRPStateCrashed:
		if d.cfg.Restart.ShouldRestart(d.s.Now, o.Since, o.CrashCount) {
			why |= RestartCrashed
		}
	}
	return why
}

// retire decides an index that is not wanted: an extra index of a desired
// LRP or any index of an orphan. Only EVACUATING rows on missing cells go
// when the domain is stale.
func (d *decider) retire(key models.ActualLRPKey, dl *models.DesiredLRPSchedulingInfo, g group, r Reason) {
	var why Reason
	var stop *models.ActualLRP
	if g.eGone {
		why |= RemoveEvacuating
	}
	if _, fresh := d.s.Domains[key.Domain]; fresh && (g.o != nil || g.s != nil) {
		why |= r
		if g.o != nil && onCell(g.o) && !g.oGone {
			stop = g.o
		}
	}
	d.emit(key, dl, g, why, stop)
}

// orphans decides the rows of process guids that are not desired.
func (d *decider) orphans(rows []*models.ActualLRP) {
	slices.SortFunc(rows, byKey)
	for lo := 0; lo < len(rows); {
		hi := lo + 1
		for hi < len(rows) && rows[hi].ProcessGuid == rows[lo].ProcessGuid && rows[hi].Index == rows[lo].Index {
			hi++
		}
		g := d.split(rows[lo:hi])
		d.count(g)
		d.p.Counts.Orphaned += btoi(g.o != nil)
		d.retire(rows[lo].ActualLRPKey, nil, g, RetireOrphan) // ORDINARY sorts first
		lo = hi
	}
}

// emit records an action unless there is nothing to do.
func (d *decider) emit(key models.ActualLRPKey, dl *models.DesiredLRPSchedulingInfo, g group, why Reason, stop *models.ActualLRP) {
	if why == 0 && stop == nil {
		return
	}
	a := LRPAction{Key: key, Desired: dl, Rows: g.rows, Why: why, Stop: stop, now: d.s.Now}
	a.Auction = dl != nil && why&auctioned != 0
	d.p.LRPs = append(d.p.LRPs, a)
	c := &d.p.Counts
	for i := 0; i < numReasons; i++ {
		c.LRPActions[i] += btoi(why&(1<<i) != 0)
	}
	c.Stops += btoi(stop != nil)
}

// count adds one index's rows to the counts; it reports whether the
// ORDINARY row is CRASHED.
func (d *decider) count(g group) bool {
	c := &d.p.Counts
	c.Suspect += btoi(g.s != nil)
	c.Evacuating += btoi(g.e != nil)
	if g.o == nil {
		return false
	}
	switch g.o.State {
	case models.ActualLRPStateUnclaimed:
		c.Unclaimed++
	case models.ActualLRPStateClaimed:
		c.Claimed++
	case models.ActualLRPStateRunning:
		c.Running++
	case models.ActualLRPStateCrashed:
		c.Crashed++
		return true
	}
	return false
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
