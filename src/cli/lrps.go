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
)

// The LRP commands' requests and calls; their rows are in commands.go.

func actualLRPFilter(c *call) func([]string) (models.ActualLRPFilter, error) {
	var domain, cellID, guid, index string
	c.str(&domain, "domain", "d", "", "only actual LRPs of this domain")
	c.str(&cellID, "cell-id", "c", "", "only actual LRPs on this cell")
	c.str(&guid, "process-guid", "p", "", "only actual LRPs of this process guid")
	c.str(&index, "index", "i", "", "only actual LRPs with this index")
	return func([]string) (models.ActualLRPFilter, error) {
		filter := models.ActualLRPFilter{Domain: domain, CellID: cellID, ProcessGuid: guid}
		if index != "" {
			i, err := strconv.ParseInt(index, 10, 32)
			if err != nil || i < 0 {
				return filter, fmt.Errorf("--index: %q is not a non-negative integer", index)
			}
			i32 := int32(i)
			filter.Index = &i32
		}
		return filter, nil
	}
}

func actualLRPs(_ context.Context, k *conn, f models.ActualLRPFilter) ([]*models.ActualLRP, error) {
	return k.bbs.ActualLRPs(quiet, "", f)
}

func desiredLRPFilter(c *call) func([]string) (models.DesiredLRPFilter, error) {
	var domain string
	c.str(&domain, "domain", "d", "", "only desired LRPs of this domain")
	return func([]string) (models.DesiredLRPFilter, error) { return models.DesiredLRPFilter{Domain: domain}, nil }
}

func desiredLRPs(_ context.Context, k *conn, f models.DesiredLRPFilter) ([]*models.DesiredLRP, error) {
	return k.bbs.DesiredLRPs(quiet, "", f)
}

func desiredLRP(_ context.Context, k *conn, guid string) (*models.DesiredLRP, error) {
	return k.bbs.DesiredLRPByProcessGuid(quiet, "", guid)
}

// jsonSpec decodes the command's last argument, a JSON spec, into a new T.
func jsonSpec[T any](*call) func(pos []string) (*T, error) {
	return func(pos []string) (*T, error) {
		v := new(T)
		return v, readSpec(pos[len(pos)-1], v)
	}
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

func createDesiredLRP(_ context.Context, k *conn, lrp *models.DesiredLRP) (nothing, error) {
	return nothing{}, k.bbs.DesireLRP(quiet, "", lrp)
}

// lrpUpdate is update-desired-lrp's request.
type lrpUpdate struct {
	guid   string
	update models.DesiredLRPUpdate
}

func updateRequest(*call) func([]string) (lrpUpdate, error) {
	return func(pos []string) (lrpUpdate, error) {
		u := lrpUpdate{guid: pos[0]}
		return u, readSpec(pos[1], &u.update)
	}
}

func updateDesiredLRP(_ context.Context, k *conn, u lrpUpdate) (nothing, error) {
	return nothing{}, k.bbs.UpdateDesiredLRP(quiet, "", u.guid, &u.update)
}

func deleteDesiredLRP(_ context.Context, k *conn, guid string) (nothing, error) {
	return nothing{}, k.bbs.RemoveDesiredLRP(quiet, "", guid)
}

// retireRequest is the instance to retire; its domain is looked up.
func retireRequest(*call) func([]string) (models.ActualLRPKey, error) {
	return func(pos []string) (models.ActualLRPKey, error) {
		index, err := strconv.ParseInt(pos[1], 10, 32)
		if err != nil || index < 0 {
			return models.ActualLRPKey{}, errors.New("INDEX must be a non-negative integer")
		}
		return models.NewActualLRPKey(pos[0], int32(index), ""), nil
	}
}

func retireActualLRP(_ context.Context, k *conn, key models.ActualLRPKey) (nothing, error) {
	desired, err := k.bbs.DesiredLRPByProcessGuid(quiet, "", key.ProcessGuid)
	if err != nil {
		return nothing{}, fmt.Errorf("getting desired LRP %s: %w", key.ProcessGuid, err)
	}
	key.Domain = desired.Domain
	if err := k.bbs.RetireActualLRP(quiet, "", &key); err != nil {
		return nothing{}, fmt.Errorf("retiring %s/%d: %w", key.ProcessGuid, key.Index, err)
	}
	return nothing{}, nil
}
