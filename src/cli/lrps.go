package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/cli/render"
)

// specs is every operator command, in help order.
var specs []*spec

func init() {
	specs = []*spec{
		{"actual-lrps", "", "List actual LRPs (filters: --domain, --cell-id, --process-guid, --index)", actualLRPs},
		{"desired-lrps", "", "List desired LRPs (filter: --domain)", desiredLRPs},
		{"desired-lrp", "PROCESS_GUID", "Show a desired LRP", desiredLRP},
		{"create-desired-lrp", "(SPEC|@FILE)", "Create a desired LRP from JSON (inline or @file)", createDesiredLRP},
		{"update-desired-lrp", "PROCESS_GUID (SPEC|@FILE)", "Update a desired LRP from a JSON DesiredLRPUpdate", updateDesiredLRP},
		{"delete-desired-lrp", "PROCESS_GUID", "Delete a desired LRP", deleteDesiredLRP},
		{"retire-actual-lrp", "PROCESS_GUID INDEX", "Retire an actual LRP instance", retireActualLRP},
		{"lrp-events", "", "Stream LRP events (--cell-id, --count)", lrpEvents},
		{"tasks", "", "List tasks (filters: --domain, --cell-id)", tasks},
		{"task", "TASK_GUID", "Show a task", task},
		{"create-task", "(SPEC|@FILE)", "Create a task from JSON (inline or @file)", createTask},
		{"delete-task", "TASK_GUID", "Delete a completed task", deleteTask},
		{"cancel-task", "TASK_GUID", "Cancel a task", cancelTask},
		{"task-events", "", "Stream task events (--count)", taskEvents},
		{"cells", "", "List cell presences", cells},
		{"cell", "CELL_ID", "Show a cell presence", cell},
		{"cell-states", "", "Show every cell's state (asks each rep)", cellStates},
		{"cell-state", "CELL_ID", "Show a cell's state (asks its rep)", cellState},
		{"domains", "", "List fresh domains", domains},
		{"set-domain", "DOMAIN", "Mark a domain fresh for --ttl (0: forever)", setDomain},
		{"locks", "", "List Locket locks", locks},
		{"presences", "", "List Locket presences", presences},
		{"claim-lock", "", "Claim a Locket lock (--key, --owner, --value, --ttl)", claimLock},
		{"release-lock", "", "Release a Locket lock or presence (--key, --owner)", releaseLock},
		{"claim-presence", "", "Claim a Locket presence (--key, --owner, --value, --ttl)", claimPresence},
		{"run", "NAME -- COMMAND [ARGS...]", "Run an app: desire an LRP and wait until its instances are RUNNING", runApp},
		{"logs", "PROCESS_GUID", "Show an instance's logs (clusters started by `diego up`)", logs},
		{"rotate-encryption-key", "", "Rotate the BBS encryption key online, keys in Vault (add, activate, re-encrypt, remove the old) or in the manifest (two verified deploys); resumable", rotateEncryptionKey},
	}
}

func actualLRPs(ctx context.Context, c *call) error {
	var domain, cellID, guid, index string
	c.str(&domain, "domain", "d", "", "only actual LRPs of this domain")
	c.str(&cellID, "cell-id", "c", "", "only actual LRPs on this cell")
	c.str(&guid, "process-guid", "p", "", "only actual LRPs of this process guid")
	c.str(&index, "index", "i", "", "only actual LRPs with this index")
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	filter := models.ActualLRPFilter{Domain: domain, CellID: cellID, ProcessGuid: guid}
	if index != "" {
		i, err := strconv.ParseInt(index, 10, 32)
		if err != nil || i < 0 {
			return c.usageError(fmt.Errorf("--index: %q is not a non-negative integer", index))
		}
		i32 := int32(i)
		filter.Index = &i32
	}
	client, err := c.bbs()
	if err != nil {
		return err
	}
	lrps, err := client.ActualLRPs(quiet, "", filter)
	if err != nil {
		return fmt.Errorf("listing actual LRPs: %w", err)
	}
	return render.Print(c.stdout, c.format, lrps, render.ActualLRPHeader, render.ActualLRPRow)
}

func desiredLRPs(ctx context.Context, c *call) error {
	var domain string
	c.str(&domain, "domain", "d", "", "only desired LRPs of this domain")
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	client, err := c.bbs()
	if err != nil {
		return err
	}
	lrps, err := client.DesiredLRPs(quiet, "", models.DesiredLRPFilter{Domain: domain})
	if err != nil {
		return fmt.Errorf("listing desired LRPs: %w", err)
	}
	return render.Print(c.stdout, c.format, lrps, render.DesiredLRPHeader, render.DesiredLRPRow)
}

func desiredLRP(ctx context.Context, c *call) error {
	args, err := c.parse(1, 1)
	if err != nil {
		return err
	}
	client, err := c.bbs()
	if err != nil {
		return err
	}
	lrp, err := client.DesiredLRPByProcessGuid(quiet, "", args[0])
	if err != nil {
		return fmt.Errorf("getting desired LRP %s: %w", args[0], err)
	}
	return render.Print(c.stdout, c.format, []*models.DesiredLRP{lrp}, render.DesiredLRPHeader, render.DesiredLRPRow)
}

// readSpec decodes a JSON argument: inline, or "@path" for a file's contents.
func readSpec(arg string, into any) error {
	data := []byte(arg)
	if path, ok := strings.CutPrefix(arg, "@"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading spec: %w", err)
		}
		data = b
	}
	if err := json.Unmarshal(data, into); err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	return nil
}

func createDesiredLRP(ctx context.Context, c *call) error {
	args, err := c.parse(1, 1)
	if err != nil {
		return err
	}
	var lrp models.DesiredLRP
	if err := readSpec(args[0], &lrp); err != nil {
		return c.usageError(err)
	}
	client, err := c.bbs()
	if err != nil {
		return err
	}
	if err := client.DesireLRP(quiet, "", &lrp); err != nil {
		return fmt.Errorf("creating desired LRP %s: %w", lrp.ProcessGuid, err)
	}
	return nil
}

func updateDesiredLRP(ctx context.Context, c *call) error {
	args, err := c.parse(2, 2)
	if err != nil {
		return err
	}
	var update models.DesiredLRPUpdate
	if err := readSpec(args[1], &update); err != nil {
		return c.usageError(err)
	}
	client, err := c.bbs()
	if err != nil {
		return err
	}
	if err := client.UpdateDesiredLRP(quiet, "", args[0], &update); err != nil {
		return fmt.Errorf("updating desired LRP %s: %w", args[0], err)
	}
	return nil
}

func deleteDesiredLRP(ctx context.Context, c *call) error {
	args, err := c.parse(1, 1)
	if err != nil {
		return err
	}
	client, err := c.bbs()
	if err != nil {
		return err
	}
	if err := client.RemoveDesiredLRP(quiet, "", args[0]); err != nil {
		return fmt.Errorf("deleting desired LRP %s: %w", args[0], err)
	}
	return nil
}

func retireActualLRP(ctx context.Context, c *call) error {
	args, err := c.parse(2, 2)
	if err != nil {
		return err
	}
	index, err := strconv.ParseInt(args[1], 10, 32)
	if err != nil || index < 0 {
		return c.usageError(errors.New("INDEX must be a non-negative integer"))
	}
	client, err := c.bbs()
	if err != nil {
		return err
	}
	desired, err := client.DesiredLRPByProcessGuid(quiet, "", args[0])
	if err != nil {
		return fmt.Errorf("getting desired LRP %s: %w", args[0], err)
	}
	key := models.NewActualLRPKey(args[0], int32(index), desired.Domain)
	if err := client.RetireActualLRP(quiet, "", &key); err != nil {
		return fmt.Errorf("retiring %s/%d: %w", args[0], index, err)
	}
	return nil
}
