package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"code.cloudfoundry.org/bbs/models"
	"github.com/gogo/protobuf/proto"
)

// maxKeyLength is the longest guid or domain the BBS stores: its columns
// are VARCHAR(255), as the reference's.
const maxKeyLength = 255

// checkBounds refuses what the reference's Validate lets through (or
// panics on) but the BBS cannot store, or could store and then not serve
// back: an update without an update, nil metric tag values, routes that are
// not JSON, guids, domains and cell ids longer than their columns. It runs
// before Validate.
func checkBounds(req proto.Message) error {
	return errors.Join(checkKeys(req), checkMessage(req))
}

// checkKeys bounds, in every request that carries them, the fields that
// become VARCHAR(255) columns (process guid, domain, task guid, cell id,
// instance guid, also inside actual LRP and instance keys), so SQLite,
// PostgreSQL and MySQL refuse the same requests the same way.
func checkKeys(req proto.Message) error {
	var errs []error
	if r, ok := req.(interface{ GetProcessGuid() string }); ok {
		errs = append(errs, checkKey("process_guid", r.GetProcessGuid()))
	}
	if r, ok := req.(interface{ GetProcessGuids() []string }); ok {
		for _, g := range r.GetProcessGuids() {
			errs = append(errs, checkKey("process_guids[]", g))
		}
	}
	if r, ok := req.(interface{ GetDomain() string }); ok {
		errs = append(errs, checkKey("domain", r.GetDomain()))
	}
	if r, ok := req.(interface{ GetTaskGuid() string }); ok {
		errs = append(errs, checkKey("task_guid", r.GetTaskGuid()))
	}
	if r, ok := req.(interface{ GetCellId() string }); ok {
		errs = append(errs, checkKey("cell_id", r.GetCellId()))
	}
	if r, ok := req.(interface {
		GetActualLrpKey() *models.ActualLRPKey
	}); ok && r.GetActualLrpKey() != nil {
		k := r.GetActualLrpKey()
		errs = append(errs, checkKey("actual_lrp_key.process_guid", k.ProcessGuid), checkKey("actual_lrp_key.domain", k.Domain))
	}
	if r, ok := req.(interface {
		GetActualLrpInstanceKey() *models.ActualLRPInstanceKey
	}); ok && r.GetActualLrpInstanceKey() != nil {
		k := r.GetActualLrpInstanceKey()
		errs = append(errs, checkKey("actual_lrp_instance_key.instance_guid", k.InstanceGuid),
			checkKey("actual_lrp_instance_key.cell_id", k.CellId))
	}
	return errors.Join(errs...)
}

// checkMessage applies the bounds particular to one request type.
func checkMessage(req proto.Message) error {
	switch r := req.(type) {
	case *models.DesireLRPRequest:
		if d := r.DesiredLrp; d != nil {
			return errors.Join(checkKey("process_guid", d.ProcessGuid), checkKey("domain", d.Domain),
				checkMetricTags(d.MetricTags), checkRoutes(d.Routes))
		}
	case *models.UpdateDesiredLRPRequest:
		if r.Update == nil {
			return errors.New("update is required: say what changes (instances, routes, annotation or metric_tags)")
		}
		return errors.Join(checkMetricTags(r.Update.MetricTags), checkRoutes(r.Update.Routes))
	case *models.DesireTaskRequest:
		if r.TaskDefinition != nil {
			return checkMetricTags(r.TaskDefinition.MetricTags)
		}
	}
	return nil
}

func checkKey(field, v string) error {
	if len(v) > maxKeyLength {
		return fmt.Errorf("%s is %d bytes long; at most %d", field, len(v), maxKeyLength)
	}
	return nil
}

func checkMetricTags(tags map[string]*models.MetricTagValue) error {
	var bad []string
	for k, v := range tags {
		if v == nil {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	return fmt.Errorf("metric_tags %q have no value: give each tag a static value or a dynamic one (INDEX, INSTANCE_GUID)", bad)
}

func checkRoutes(routes *models.Routes) error {
	if routes == nil {
		return nil
	}
	var errs []error
	for k, v := range *routes {
		if v != nil && !json.Valid(*v) {
			errs = append(errs, fmt.Errorf("routes[%q] is not valid JSON", k))
		}
	}
	return errors.Join(errs...)
}
