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
// not JSON, guids and domains longer than their columns. It runs before
// Validate.
func checkBounds(req proto.Message) error {
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
		return errors.Join(checkKey("process_guid", r.ProcessGuid), checkMetricTags(r.Update.MetricTags), checkRoutes(r.Update.Routes))
	case *models.DesireTaskRequest:
		err := errors.Join(checkKey("task_guid", r.TaskGuid), checkKey("domain", r.Domain))
		if r.TaskDefinition != nil {
			err = errors.Join(err, checkMetricTags(r.TaskDefinition.MetricTags))
		}
		return err
	case *models.UpsertDomainRequest:
		return checkKey("domain", r.Domain)
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
