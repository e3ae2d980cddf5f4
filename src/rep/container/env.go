package container

import (
	"encoding/json"
	"fmt"
)

// NetworkEnv is the executor's networking variables of a process:
// CF_INSTANCE_IP (the cell's address, externalIP), CF_INSTANCE_INTERNAL_IP
// (the container's), and with ports CF_INSTANCE_PORT and CF_INSTANCE_ADDR
// (the first mapping's host port) and CF_INSTANCE_PORTS (JSON
// [{"external":H,"internal":C}], external omitted when 0); without ports
// the first two are empty and CF_INSTANCE_PORTS is "[]".
func NetworkEnv(externalIP, internalIP string, ports []PortMapping) []string {
	env := []string{"CF_INSTANCE_IP=" + externalIP, "CF_INSTANCE_INTERNAL_IP=" + internalIP}
	if len(ports) == 0 {
		return append(env, "CF_INSTANCE_PORT=", "CF_INSTANCE_ADDR=", "CF_INSTANCE_PORTS=[]")
	}
	if first := ports[0].HostPort; first > 0 {
		env = append(env, fmt.Sprintf("CF_INSTANCE_PORT=%d", first), fmt.Sprintf("CF_INSTANCE_ADDR=%s:%d", externalIP, first))
	}
	type cfPort struct {
		External uint32 `json:"external,omitempty"`
		Internal uint32 `json:"internal"`
	}
	cfPorts := make([]cfPort, len(ports))
	for i, m := range ports {
		cfPorts[i] = cfPort{External: m.HostPort, Internal: m.ContainerPort}
	}
	js, _ := json.Marshal(cfPorts)
	return append(env, "CF_INSTANCE_PORTS="+string(js))
}
