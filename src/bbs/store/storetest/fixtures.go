package storetest

import (
	"encoding/json"

	"code.cloudfoundry.org/bbs/models"
)

// NewDesiredLRP returns a desired LRP with most fields set, so a lossy
// round trip shows up as a difference.
func NewDesiredLRP(guid, domain string) *models.DesiredLRP {
	route := json.RawMessage(`[{"hostnames":["` + guid + `.example.com"],"port":8080}]`)
	return &models.DesiredLRP{
		ProcessGuid:          guid,
		Domain:               domain,
		RootFs:               "preloaded:cflinuxfs4",
		Instances:            2,
		EnvironmentVariables: []*models.EnvironmentVariable{{Name: "PORT", Value: "8080"}},
		Setup:                models.WrapAction(&models.DownloadAction{From: "http://blobstore/" + guid, To: "/home/vcap", User: "vcap"}),
		Action:               models.WrapAction(&models.RunAction{Path: "/home/vcap/app/start", Args: []string{"--port", "8080"}, User: "vcap"}),
		Monitor:              models.WrapAction(&models.RunAction{Path: "nc", Args: []string{"-z", "127.0.0.1", "8080"}, User: "vcap"}),
		StartTimeoutMs:       60000,
		DiskMb:               1024,
		MemoryMb:             256,
		CpuWeight:            10,
		Ports:                []uint32{8080},
		Routes:               &models.Routes{"cf-router": &route},
		LogSource:            "APP",
		LogGuid:              "log-" + guid,
		MetricsGuid:          "metrics-" + guid,
		Annotation:           "annotation for " + guid,
		ModificationTag:      &models.ModificationTag{Epoch: "epoch-" + guid, Index: 1},
		VolumeMounts:         []*models.VolumeMount{{Driver: "nfs", ContainerDir: "/data", Mode: "rw"}},
		PlacementTags:        []string{"red"},
		MaxPids:              1024,
		MetricTags:           map[string]*models.MetricTagValue{"source_id": {Static: guid}},
		LogRateLimit:         &models.LogRateLimit{BytesPerSecond: 1 << 20},
	}
}

// NewActualLRP returns an actual LRP placed on cell (unclaimed if cell is
// empty, running otherwise).
func NewActualLRP(guid string, index int32, presence models.ActualLRP_Presence, domain, cell string) *models.ActualLRP {
	a := &models.ActualLRP{
		ActualLRPKey:     models.NewActualLRPKey(guid, index, domain),
		State:            models.ActualLRPStateUnclaimed,
		Since:            1700000000000000000 + int64(index),
		ModificationTag:  models.ModificationTag{Epoch: "epoch-" + guid, Index: 0},
		Presence:         presence,
		AvailabilityZone: "z1",
	}
	if cell != "" {
		a.ActualLRPInstanceKey = models.NewActualLRPInstanceKey("instance-"+guid+"-"+cell, cell)
		a.ActualLRPNetInfo = models.NewActualLRPNetInfo("10.0.0.1", "10.255.0.1", models.ActualLRPNetInfo_PreferredAddressHost,
			models.NewPortMapping(61000+uint32(index), 8080))
		a.State = models.ActualLRPStateRunning
		a.ActualLrpInternalRoutes = []*models.ActualLRPInternalRoute{{Hostname: guid + ".apps.internal"}}
		a.MetricTags = map[string]string{"app_id": guid}
		a.OptionalRoutable = &models.ActualLRP_Routable{Routable: true}
	}
	return a
}

// NewTask returns a task in state on cell.
func NewTask(guid, domain, cell string, state models.Task_State) *models.Task {
	return &models.Task{
		TaskDefinition: &models.TaskDefinition{
			RootFs:                "docker:///busybox",
			EnvironmentVariables:  []*models.EnvironmentVariable{{Name: "FOO", Value: "bar"}},
			Action:                models.WrapAction(&models.RunAction{Path: "/bin/sh", Args: []string{"-c", "echo hi"}, User: "root"}),
			DiskMb:                64,
			MemoryMb:              128,
			LogGuid:               "log-" + guid,
			ResultFile:            "/tmp/result",
			CompletionCallbackUrl: "https://cc.example.com/tasks/" + guid,
			PlacementTags:         []string{"blue"},
		},
		TaskGuid:  guid,
		Domain:    domain,
		CreatedAt: 1700000000000000000,
		UpdatedAt: 1700000000000000001,
		State:     state,
		CellId:    cell,
	}
}
