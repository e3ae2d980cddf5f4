package ccrecipe

import (
	"fmt"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

// DesiredLRP is the app's desired LRP as AppRecipeBuilder#build_app_lrp
// makes it (without ssh): lifecycle and droplet as cached dependency and
// setup download (or image layers), the launcher and the sidecars'
// launchers codependent, a healthcheck monitor and the check definition.
func (a App) DesiredLRP() *models.DesiredLRP {
	actions := []models.ActionInterface{a.launcher(a.StartCommand, "APP/PROC/"+strings.ToUpper(a.ProcessType), a.actionEnv())}
	for _, s := range a.Sidecars {
		actions = append(actions, a.launcher(s.Command,
			"APP/PROC/"+strings.ToUpper(a.ProcessType)+"/SIDECAR/"+strings.ToUpper(s.Name), a.actionEnv()))
	}
	lrp := &models.DesiredLRP{
		ProcessGuid:                   a.ProcessGuid(),
		Instances:                     a.Instances,
		EnvironmentVariables:          env("LANG", DefaultLang),
		StartTimeoutMs:                a.startTimeoutMs(),
		DiskMb:                        a.DiskMB,
		MemoryMb:                      a.MemoryMB,
		LogRateLimit:                  a.logRateLimit(),
		Privileged:                    false,
		Ports:                         a.ports(),
		LogSource:                     LRPLogSource,
		LogGuid:                       a.AppGuid,
		MetricsGuid:                   a.AppGuid,
		MetricTags:                    a.MetricTags(),
		Annotation:                    "1765000000.0",
		EgressRules:                   EgressRules(),
		CachedDependencies:            a.cachedDependencies(a.lifecycleKey()),
		LegacyDownloadUser:            LegacyDownloadUser,
		TrustedSystemCertificatesPath: TrustedSystemCertPath,
		Network:                       a.network("app"),
		CpuWeight:                     cpuWeight(a.MemoryMB),
		Action:                        models.WrapAction(models.Codependent(actions...)),
		Monitor:                       models.WrapAction(models.Timeout(models.Parallel(a.healthcheckAction()), 10*time.Minute)),
		RootFs:                        a.RootFS,
		ImageLayers:                   a.imageLayers(),
		Domain:                        AppLRPDomain,
		CheckDefinition:               a.checkDefinition(),
		Routes:                        a.Routes(),
		MaxPids:                       DefaultPidLimit,
		CertificateProperties:         a.certificateProperties(),
	}
	if !a.DeclarativeAssets {
		lrp.Setup = models.WrapAction(models.Serial(a.dropletDownload("droplet", "droplets-"+a.ProcessGuid())))
	}
	return lrp
}

// healthcheckAction is AppRecipeBuilder#build_action for the first port.
func (a App) healthcheckAction() *models.RunAction {
	args := []string{"-port=8080"}
	if a.HealthCheckHTTPEndpoint != "" {
		args = append(args, "-uri="+a.HealthCheckHTTPEndpoint)
	}
	return &models.RunAction{User: "vcap", Path: "/tmp/lifecycle/healthcheck", Args: args,
		ResourceLimits: nofile(),
		LogSource:      HealthLogSource, SuppressLogOutput: true}
}

// checkDefinition is AppRecipeBuilder#generate_healthcheck_definition
// (liveness only: no readiness check configured).
func (a App) checkDefinition() *models.CheckDefinition {
	if a.HealthCheckHTTPEndpoint != "" {
		return &models.CheckDefinition{Checks: []*models.Check{{HttpCheck: &models.HTTPCheck{
			Path: a.HealthCheckHTTPEndpoint, Port: DefaultAppPort}}}}
	}
	return &models.CheckDefinition{Checks: []*models.Check{{TcpCheck: &models.TCPCheck{Port: DefaultAppPort}}}}
}

// Task is a task of the app as TaskRecipeBuilder#build_app_task makes it
// (with Buildpack::TaskActionBuilder): the droplet downloaded (or a
// layer), then the launcher running command; completion reported to
// callbackURL.
func (a App) Task(name, command, callbackURL string) *models.TaskDefinition {
	taskEnv := env("LANG", DefaultLang, "VCAP_APPLICATION", a.vcapApplication(a.MemoryMB),
		"MEMORY_LIMIT", fmt.Sprintf("%dm", a.MemoryMB), "VCAP_SERVICES", "{}")
	run := &models.RunAction{User: "vcap", Path: "/tmp/lifecycle/launcher", Args: []string{"app", command, ""},
		LogSource: "APP/TASK/" + name, ResourceLimits: &models.ResourceLimits{}, Env: taskEnv}
	var action models.ActionInterface = models.Serial(a.dropletDownload("", ""), run)
	if a.DeclarativeAssets {
		action = run
	}
	return &models.TaskDefinition{
		CompletionCallbackUrl:         callbackURL,
		CpuWeight:                     cpuWeight(a.MemoryMB),
		DiskMb:                        a.DiskMB,
		EgressRules:                   EgressRules(),
		LogGuid:                       a.AppGuid,
		LogRateLimit:                  a.logRateLimit(),
		LogSource:                     TaskLogSource,
		MaxPids:                       DefaultPidLimit,
		MemoryMb:                      a.MemoryMB,
		MetricTags:                    a.taskMetricTags(),
		Network:                       a.network("task"),
		TrustedSystemCertificatesPath: TrustedSystemCertPath,
		Action:                        models.WrapAction(action),
		LegacyDownloadUser:            LegacyDownloadUser,
		ImageLayers:                   a.imageLayers(),
		CachedDependencies:            a.cachedDependencies(a.lifecycleKey()),
		RootFs:                        a.RootFS,
		EnvironmentVariables:          taskEnv,
		CertificateProperties:         a.certificateProperties(),
	}
}

// taskMetricTags are TaskRecipeBuilder#metric_tags.
func (a App) taskMetricTags() map[string]*models.MetricTagValue {
	s := func(v string) *models.MetricTagValue { return &models.MetricTagValue{Static: v} }
	return map[string]*models.MetricTagValue{
		"source_id": s(a.AppGuid), "organization_id": s(a.OrgGuid), "space_id": s(a.SpaceGuid),
		"app_id": s(a.AppGuid), "organization_name": s(a.OrgName), "space_name": s(a.SpaceName), "app_name": s(a.AppName),
	}
}
