// Package ccrecipe builds desired LRPs and tasks shaped exactly as Cloud
// Controller's Diego recipe builders shape them for a buildpack app, so
// tests and benchmarks run what Cloud Foundry sends.
//
// The shapes follow cloud_controller_ng's lib/cloud_controller/diego:
// app_recipe_builder.rb and main_lrp_action_builder.rb (the LRP),
// buildpack/desired_lrp_builder.rb (lifecycle as a cached dependency, droplet
// download in setup; or, with declarative asset downloads, both as image
// layers), task_recipe_builder.rb and buildpack/task_action_builder.rb (the
// task), environment.rb and vcap/vars_builder.rb (VCAP_APPLICATION).
package ccrecipe

import (
	"encoding/json"
	"fmt"

	"code.cloudfoundry.org/bbs/models"
)

// Constants of Cloud Controller (lib/cloud_controller/diego/constants.rb)
// and its default config.
const (
	AppLRPDomain          = "cf-apps"
	TasksDomain           = "cf-tasks"
	TrustedSystemCertPath = "/etc/cf-system-certificates"
	DefaultLang           = "en_US.UTF-8"
	DefaultAppPort        = 8080
	LRPLogSource          = "CELL"
	TaskLogSource         = "CELL"
	HealthLogSource       = "HEALTH"
	LegacyDownloadUser    = "vcap"
	// DefaultFileDescriptors is a process's default file_descriptors.
	DefaultFileDescriptors = 16384
	// DefaultPidLimit is diego.pid_limit's default.
	DefaultPidLimit = 1024
)

// Sidecar is one of a process's sidecars.
type Sidecar struct {
	Name    string
	Command string
}

// App is what Cloud Controller knows of a buildpack app's process when it
// desires it or runs a task of it.
type App struct {
	AppGuid, SpaceGuid, OrgGuid string
	AppName, SpaceName, OrgName string
	// ProcessID and Version make the LRP's process guid
	// "<process guid>-<version>" (ProcessGuid.from_process).
	ProcessID, Version string
	ProcessType        string // "web"
	Stack              string // "cflinuxfs4"
	// RootFS is "preloaded:<the stack's run rootfs image>".
	RootFS    string
	Instances int32
	MemoryMB  int32
	DiskMB    int32
	// LogRateLimit is bytes per second; -1 unlimited.
	LogRateLimit int64
	// LifecycleURL serves the buildpack lifecycle bundle (a .tgz holding
	// launcher and healthcheck).
	LifecycleURL string
	// DropletURL serves the droplet (.tgz: app/, staging_info.yml, ...);
	// DropletSHA256 is its checksum.
	DropletURL, DropletSHA256 string
	StartCommand              string
	Sidecars                  []Sidecar
	// HealthCheckHTTPEndpoint makes the health check an HTTP one on the
	// first port; empty: port checks.
	HealthCheckHTTPEndpoint string
	// HealthCheckTimeoutSeconds is start_timeout_ms / 1000 (default 60).
	HealthCheckTimeoutSeconds uint32
	Hostnames                 []string
	// DeclarativeAssets is CC's diego.enable_declarative_asset_downloads:
	// lifecycle and droplet as image layers instead of a cached dependency
	// and a setup download.
	DeclarativeAssets bool
	// DropletDestination is diego.droplet_destinations[stack] (CC's
	// default: /home/vcap), where the droplet layer is extracted.
	DropletDestination string
}

// ProcessGuid is the desired LRP's process guid.
func (a App) ProcessGuid() string { return a.ProcessID + "-" + a.Version }

func (a App) ports() []uint32 { return []uint32{DefaultAppPort} }

func (a App) startTimeoutMs() int64 {
	if a.HealthCheckTimeoutSeconds == 0 {
		return 60_000
	}
	return int64(a.HealthCheckTimeoutSeconds) * 1000
}

// cpuWeight is TaskCpuWeightCalculator with CC's default min/max (128/8192).
func cpuWeight(memoryMB int32) uint32 {
	n := min(max(memoryMB, 128), 8192)
	return uint32(100 * n / 8192)
}

func (a App) lifecycleKey() string { return "buildpack-" + a.Stack + "-lifecycle" }

func (a App) logRateLimit() *models.LogRateLimit {
	if a.LogRateLimit == 0 {
		return &models.LogRateLimit{BytesPerSecond: -1}
	}
	return &models.LogRateLimit{BytesPerSecond: a.LogRateLimit}
}

// vcapApplication is VCAP_APPLICATION as VarsBuilder makes it for a
// process ("users" excluded).
func (a App) vcapApplication(memoryMB int32) string {
	uris := append([]string{}, a.Hostnames...)
	v := map[string]any{
		"cf_api":              "https://api.example.com",
		"limits":              map[string]any{"fds": DefaultFileDescriptors, "mem": memoryMB, "disk": a.DiskMB},
		"application_name":    a.AppName,
		"application_uris":    uris,
		"name":                a.AppName,
		"space_name":          a.SpaceName,
		"space_id":            a.SpaceGuid,
		"organization_id":     a.OrgGuid,
		"organization_name":   a.OrgName,
		"uris":                uris,
		"process_id":          a.ProcessID,
		"process_type":        a.ProcessType,
		"application_id":      a.AppGuid,
		"version":             a.Version,
		"application_version": a.Version,
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func env(kv ...string) []*models.EnvironmentVariable {
	vs := make([]*models.EnvironmentVariable, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		vs = append(vs, &models.EnvironmentVariable{Name: kv[i], Value: kv[i+1]})
	}
	return vs
}

// actionEnv is the port variables then the running environment
// (MainLRPActionBuilder#generate_environment_variables).
func (a App) actionEnv() []*models.EnvironmentVariable {
	port := fmt.Sprint(a.ports()[0])
	return env("PORT", port, "VCAP_APP_PORT", port, "VCAP_APP_HOST", "0.0.0.0",
		"VCAP_APPLICATION", a.vcapApplication(a.MemoryMB),
		"MEMORY_LIMIT", fmt.Sprintf("%dm", a.MemoryMB),
		"VCAP_SERVICES", "{}")
}

func (a App) certificateProperties() *models.CertificateProperties {
	return &models.CertificateProperties{OrganizationalUnit: []string{
		"organization:" + a.OrgGuid, "space:" + a.SpaceGuid, "app:" + a.AppGuid}}
}

func (a App) network(workload string) *models.Network {
	return &models.Network{Properties: map[string]string{
		"policy_group_id": a.AppGuid, "app_id": a.AppGuid, "space_id": a.SpaceGuid,
		"org_id": a.OrgGuid, "ports": "8080", "container_workload": workload}}
}

// EgressRules are Cloud Foundry's default running security groups
// (public_networks and dns).
func EgressRules() []*models.SecurityGroupRule {
	return []*models.SecurityGroupRule{
		{Protocol: "all", Destinations: []string{"0.0.0.0-9.255.255.255", "11.0.0.0-169.253.255.255",
			"169.255.0.0-172.15.255.255", "172.32.0.0-192.167.255.255", "192.169.0.0-255.255.255.255"}},
		{Protocol: "tcp", Destinations: []string{"0.0.0.0/0"}, Ports: []uint32{53}},
		{Protocol: "udp", Destinations: []string{"0.0.0.0/0"}, Ports: []uint32{53}},
	}
}

func (a App) cachedDependencies(key string) []*models.CachedDependency {
	if a.DeclarativeAssets {
		return nil
	}
	return []*models.CachedDependency{{From: a.LifecycleURL, To: "/tmp/lifecycle", CacheKey: key}}
}

func (a App) imageLayers() []*models.ImageLayer {
	if !a.DeclarativeAssets {
		return nil
	}
	dest := a.DropletDestination
	if dest == "" {
		dest = "/home/vcap"
	}
	return []*models.ImageLayer{
		{Name: a.lifecycleKey(), Url: a.LifecycleURL, DestinationPath: "/tmp/lifecycle",
			LayerType: models.LayerTypeShared, MediaType: models.MediaTypeTgz},
		{Name: "droplet", Url: a.DropletURL, DestinationPath: dest,
			LayerType: models.LayerTypeExclusive, MediaType: models.MediaTypeTgz,
			DigestAlgorithm: models.DigestAlgorithmSha256, DigestValue: a.DropletSHA256},
	}
}

// dropletDownload is the droplet's download action: the LRP's names its
// artifact and has a cache key, the task's has neither.
func (a App) dropletDownload(artifact, cacheKey string) *models.DownloadAction {
	return &models.DownloadAction{Artifact: artifact, From: a.DropletURL, To: ".", CacheKey: cacheKey,
		User: "vcap", ChecksumAlgorithm: "sha256", ChecksumValue: a.DropletSHA256}
}

func (a App) launcher(command, logSource string, env []*models.EnvironmentVariable) *models.RunAction {
	return &models.RunAction{User: "vcap", Path: "/tmp/lifecycle/launcher",
		Args: []string{"app", command, `{"start_command":"` + a.StartCommand + `"}`}, Env: env,
		LogSource: logSource, ResourceLimits: nofile()}
}

// nofile is the resource limits of a process's actions: its
// file_descriptors.
func nofile() *models.ResourceLimits {
	return &models.ResourceLimits{OptionalNofile: &models.ResourceLimits_Nofile{Nofile: DefaultFileDescriptors}}
}

// Routes is the routes map of AppRecipeBuilder#generate_routes: cf-router
// with the hostnames on the first port, tcp-router and internal-router empty.
func (a App) Routes() *models.Routes {
	type httpRoute struct {
		Hostnames        []string `json:"hostnames"`
		Port             uint32   `json:"port"`
		RouteServiceURL  *string  `json:"route_service_url"`
		IsolationSegment *string  `json:"isolation_segment"`
		Protocol         string   `json:"protocol"`
	}
	var http []httpRoute
	for _, h := range a.Hostnames {
		http = append(http, httpRoute{Hostnames: []string{h}, Port: a.ports()[0], Protocol: "http1"})
	}
	cf, _ := json.Marshal(http)
	if http == nil {
		cf = []byte("[]")
	}
	raw := func(b []byte) *json.RawMessage { m := json.RawMessage(b); return &m }
	return &models.Routes{"cf-router": raw(cf), "tcp-router": raw([]byte("[]")), "internal-router": raw([]byte("[]"))}
}

// MetricTags are AppRecipeBuilder#metric_tags.
func (a App) MetricTags() map[string]*models.MetricTagValue {
	s := func(v string) *models.MetricTagValue { return &models.MetricTagValue{Static: v} }
	return map[string]*models.MetricTagValue{
		"source_id": s(a.AppGuid), "process_id": s(a.ProcessID),
		"process_type":        s(a.ProcessType),
		"process_instance_id": {Dynamic: models.MetricTagDynamicValueInstanceGuid},
		"instance_id":         {Dynamic: models.MetricTagDynamicValueIndex},
		"organization_id":     s(a.OrgGuid), "space_id": s(a.SpaceGuid), "app_id": s(a.AppGuid),
		"organization_name": s(a.OrgName), "space_name": s(a.SpaceName), "app_name": s(a.AppName),
	}
}
