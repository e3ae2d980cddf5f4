package server

import "code.cloudfoundry.org/bbs/models"

// servedDesiredLRP is a desired LRP read (decoded, not shared) as the
// reference serves it: metrics_guid and the source_id tag filled from each
// other (see src/bbs/store/metricsguid; lists ask the store for that).
func servedDesiredLRP(d *models.DesiredLRP) *models.DesiredLRP {
	if d == nil {
		return nil
	}
	return d.PopulateMetricsGuid()
}
