package cli

import (
	"code.cloudfoundry.org/bbs/models"
	locketmodels "code.cloudfoundry.org/locket/models"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/cli/render"
)

// specs is the command table: every operator command, in help order. A row
// declares the command's name, arguments and summary, its flags and request
// (request), the client it calls (uses, do), what a failure says (fail) and
// its printer (print); cmd.run does the rest. To add a command, add a row.
var specs = []*spec{
	cmd[models.ActualLRPFilter, []*models.ActualLRP]{name: "actual-lrps",
		summary: "List actual LRPs (filters: --domain, --cell-id, --process-guid, --index)",
		request: actualLRPFilter, uses: bbsAPI, do: actualLRPs, fail: says[models.ActualLRPFilter]("listing actual LRPs"),
		print: list(render.ActualLRPHeader, render.ActualLRPRow)}.spec(),
	cmd[models.DesiredLRPFilter, []*models.DesiredLRP]{name: "desired-lrps", summary: "List desired LRPs (filter: --domain)",
		request: desiredLRPFilter, uses: bbsAPI, do: desiredLRPs, fail: says[models.DesiredLRPFilter]("listing desired LRPs"),
		print: list(render.DesiredLRPHeader, render.DesiredLRPRow)}.spec(),
	cmd[string, *models.DesiredLRP]{name: "desired-lrp", args: "PROCESS_GUID", summary: "Show a desired LRP", min: 1, max: 1,
		request: subject, uses: bbsAPI, do: desiredLRP, fail: about("getting desired LRP %s"),
		print: one(render.DesiredLRPHeader, render.DesiredLRPRow)}.spec(),
	cmd[*models.DesiredLRP, nothing]{name: "create-desired-lrp", args: "(SPEC|@FILE)",
		summary: "Create a desired LRP from JSON (inline or @file)", min: 1, max: 1,
		request: jsonSpec[models.DesiredLRP], uses: bbsAPI, do: createDesiredLRP,
		fail: func(l *models.DesiredLRP) string { return "creating desired LRP " + l.ProcessGuid }}.spec(),
	cmd[lrpUpdate, nothing]{name: "update-desired-lrp", args: "PROCESS_GUID (SPEC|@FILE)",
		summary: "Update a desired LRP from a JSON DesiredLRPUpdate", min: 2, max: 2,
		request: updateRequest, uses: bbsAPI, do: updateDesiredLRP,
		fail: func(u lrpUpdate) string { return "updating desired LRP " + u.guid }}.spec(),
	cmd[string, nothing]{name: "delete-desired-lrp", args: "PROCESS_GUID", summary: "Delete a desired LRP", min: 1, max: 1,
		request: subject, uses: bbsAPI, do: deleteDesiredLRP, fail: about("deleting desired LRP %s")}.spec(),
	cmd[models.ActualLRPKey, nothing]{name: "retire-actual-lrp", args: "PROCESS_GUID INDEX",
		summary: "Retire an actual LRP instance", min: 2, max: 2, request: retireRequest, uses: bbsAPI, do: retireActualLRP}.spec(),
	cmd[eventsRequest, nothing]{name: "lrp-events", summary: "Stream LRP events (--cell-id, --count)",
		request: lrpEventsRequest, do: lrpEvents}.spec(),

	cmd[models.TaskFilter, []*models.Task]{name: "tasks", summary: "List tasks (filters: --domain, --cell-id)",
		request: taskFilter, uses: bbsAPI, do: tasks, fail: says[models.TaskFilter]("listing tasks"),
		print: list(render.TaskHeader, render.TaskRow)}.spec(),
	cmd[string, *models.Task]{name: "task", args: "TASK_GUID", summary: "Show a task", min: 1, max: 1,
		request: subject, uses: bbsAPI, do: task, fail: about("getting task %s"), print: one(render.TaskHeader, render.TaskRow)}.spec(),
	cmd[*models.Task, nothing]{name: "create-task", args: "(SPEC|@FILE)", summary: "Create a task from JSON (inline or @file)",
		min: 1, max: 1, request: jsonSpec[models.Task], uses: bbsAPI, do: createTask,
		fail: func(t *models.Task) string { return "creating task " + t.TaskGuid }}.spec(),
	cmd[string, nothing]{name: "delete-task", args: "TASK_GUID", summary: "Delete a completed task", min: 1, max: 1,
		request: subject, do: deleteTask, fail: about("deleting task %s")}.spec(),
	cmd[string, nothing]{name: "cancel-task", args: "TASK_GUID", summary: "Cancel a task", min: 1, max: 1,
		request: subject, do: cancelTask, fail: about("cancelling task %s")}.spec(),
	cmd[eventsRequest, nothing]{name: "task-events", summary: "Stream task events (--count)",
		request: countRequest, do: taskEvents}.spec(),

	cmd[nothing, []*models.CellPresence]{name: "cells", summary: "List cell presences",
		uses: bbsAPI, do: cells, print: list(render.CellHeader, render.CellRow)}.spec(),
	cmd[string, *models.CellPresence]{name: "cell", args: "CELL_ID", summary: "Show a cell presence", min: 1, max: 1,
		request: subject, uses: bbsAPI, do: cell, print: one(render.CellHeader, render.CellRow)}.spec(),
	cmd[nothing, cellStatesResult]{name: "cell-states", summary: "Show every cell's state (asks each rep)",
		uses: bbsAPI, do: cellStates, print: printCellStates}.spec(),
	cmd[string, rep.CellState]{name: "cell-state", args: "CELL_ID", summary: "Show a cell's state (asks its rep)", min: 1, max: 1,
		request: subject, uses: bbsAPI, do: cellState, print: one(render.CellStateHeader, render.CellStateRow)}.spec(),
	cmd[nothing, []string]{name: "domains", summary: "List fresh domains",
		uses: bbsAPI, do: domains, fail: says[nothing]("listing domains"), print: list(render.DomainHeader, render.DomainRow)}.spec(),
	cmd[domainRequest, nothing]{name: "set-domain", args: "DOMAIN", summary: "Mark a domain fresh for --ttl (0: forever)",
		min: 1, max: 1, request: setDomainRequest, uses: bbsAPI, do: setDomain,
		fail: func(d domainRequest) string { return "setting domain " + d.domain }}.spec(),

	cmd[resourceType, []*locketmodels.Resource]{name: "locks", summary: "List Locket locks",
		request: fixed(lockKind), uses: locketAPI, do: fetchAll, fail: listing,
		print: list(render.ResourceHeader, render.ResourceRow)}.spec(),
	cmd[resourceType, []*locketmodels.Resource]{name: "presences", summary: "List Locket presences",
		request: fixed(presenceKind), uses: locketAPI, do: fetchAll, fail: listing,
		print: list(render.ResourceHeader, render.ResourceRow)}.spec(),
	cmd[*locketmodels.LockRequest, nothing]{name: "claim-lock", summary: "Claim a Locket lock (--key, --owner, --value, --ttl)",
		request: claimRequest(lockKind), uses: locketAPI, do: claim, fail: claiming}.spec(),
	cmd[*locketmodels.ReleaseRequest, nothing]{name: "release-lock",
		summary: "Release a Locket lock or presence (--key, --owner)",
		request: releaseRequest, uses: locketAPI, do: release, fail: releasing}.spec(),
	cmd[*locketmodels.LockRequest, nothing]{name: "claim-presence",
		summary: "Claim a Locket presence (--key, --owner, --value, --ttl)",
		request: claimRequest(presenceKind), uses: locketAPI, do: claim, fail: claiming}.spec(),

	cmd[runRequest, ran]{name: "run", args: "NAME -- COMMAND [ARGS...]",
		summary: "Run an app: desire an LRP and wait until its instances are RUNNING", min: 1, max: 1,
		request: runFlags, uses: bbsAPI, do: runApp, print: printRun}.spec(),
	cmd[logsQuery, nothing]{name: "logs", args: "PROCESS_GUID", summary: "Show an instance's logs (clusters started by `diego up`)",
		min: 1, max: 1, request: logsRequest, do: logs}.spec(),
	{name: "rotate-encryption-key",
		summary: "Rotate the BBS encryption key online, keys in Vault (add, activate, re-encrypt, remove the old) or in the manifest (two verified deploys); resumable",
		run:     rotateEncryptionKey},
}
