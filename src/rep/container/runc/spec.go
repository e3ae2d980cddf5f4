package runc

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/diego-go/diego/src/rep/container"
)

// The minimal subset of the OCI runtime spec (opencontainers/runtime-spec
// v1.0.2) the backend writes: config.json for a bundle, process.json for
// "runc exec".

type ociSpec struct {
	OCIVersion string     `json:"ociVersion"`
	Process    ociProcess `json:"process"`
	Root       ociRoot    `json:"root"`
	Hostname   string     `json:"hostname"`
	Mounts     []ociMount `json:"mounts"`
	Linux      ociLinux   `json:"linux"`
}

type ociProcess struct {
	Terminal        bool        `json:"terminal"`
	User            ociUser     `json:"user"`
	Args            []string    `json:"args"`
	Env             []string    `json:"env"`
	Cwd             string      `json:"cwd"`
	Capabilities    *ociCaps    `json:"capabilities,omitempty"`
	Rlimits         []ociRlimit `json:"rlimits,omitempty"`
	NoNewPrivileges bool        `json:"noNewPrivileges"`
	OOMScoreAdj     *int        `json:"oomScoreAdj,omitempty"`
}

type ociUser struct {
	UID uint32 `json:"uid"`
	GID uint32 `json:"gid"`
}

type ociCaps struct {
	Bounding  []string `json:"bounding"`
	Effective []string `json:"effective"`
	Permitted []string `json:"permitted"`
}

type ociRlimit struct {
	Type string `json:"type"`
	Hard uint64 `json:"hard"`
	Soft uint64 `json:"soft"`
}

type ociRoot struct {
	Path     string `json:"path"`
	Readonly bool   `json:"readonly"`
}

type ociMount struct {
	Destination string   `json:"destination"`
	Type        string   `json:"type"`
	Source      string   `json:"source"`
	Options     []string `json:"options,omitempty"`
}

type ociLinux struct {
	Resources     ociResources   `json:"resources"`
	CgroupsPath   string         `json:"cgroupsPath"`
	Namespaces    []ociNamespace `json:"namespaces"`
	MaskedPaths   []string       `json:"maskedPaths,omitempty"`
	ReadonlyPaths []string       `json:"readonlyPaths,omitempty"`
}

type ociResources struct {
	Devices []ociDeviceRule `json:"devices"`
	Memory  *ociMemory      `json:"memory,omitempty"`
	CPU     *ociCPU         `json:"cpu,omitempty"`
	Pids    *ociPids        `json:"pids,omitempty"`
}

type ociDeviceRule struct {
	Allow  bool   `json:"allow"`
	Access string `json:"access,omitempty"`
}

type ociMemory struct {
	Limit *int64 `json:"limit,omitempty"`
	Swap  *int64 `json:"swap,omitempty"`
}

type ociCPU struct {
	Shares *uint64 `json:"shares,omitempty"`
}

type ociPids struct {
	Limit int64 `json:"limit"`
}

type ociNamespace struct {
	Type string `json:"type"`
	Path string `json:"path,omitempty"`
}

// defaultCaps is Docker's default capability set.
var defaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

func caps() *ociCaps {
	return &ociCaps{Bounding: defaultCaps, Effective: defaultCaps, Permitted: defaultCaps}
}

// initScript is the container's init: PID 1 of the PID namespace, which
// reaps orphans ("wait" reaps any child) and does nothing else. Its sleep
// is recognised by initSleepArg and not counted as a container process.
const (
	initSleepArg = "2147483647"
	initScript   = `trap "exit 0" TERM; while :; do sleep ` + initSleepArg + ` & wait; done`
)

// initPids is the number of pids init uses (sh and its sleep), added to
// Spec.MaxPids.
const initPids = 2

// bundleSpec is the config.json of a container.
func bundleSpec(spec container.Spec, hostname, netnsPath, cgroupsPath string, swapAccounting bool) ociSpec {
	s := ociSpec{
		OCIVersion: "1.0.2",
		Process: ociProcess{
			Args:         []string{"/bin/sh", "-c", initScript},
			Env:          []string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"},
			Cwd:          "/",
			Capabilities: caps(),
			Rlimits:      []ociRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
		},
		Root:     ociRoot{Path: "rootfs"},
		Hostname: hostname,
		Mounts: []ociMount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		},
		Linux: ociLinux{
			CgroupsPath: cgroupsPath,
			Resources:   ociResources{Devices: []ociDeviceRule{{Allow: false, Access: "rwm"}}},
			Namespaces: []ociNamespace{
				{Type: "pid"}, {Type: "ipc"}, {Type: "uts"}, {Type: "mount"},
				{Type: "network", Path: netnsPath},
			},
			MaskedPaths: []string{"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"},
			ReadonlyPaths: []string{"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
	for _, m := range spec.BindMounts {
		opts := []string{"rbind", "rw"}
		if m.ReadOnly {
			opts = []string{"rbind", "ro"}
		}
		s.Mounts = append(s.Mounts, ociMount{Destination: m.ContainerPath, Type: "bind", Source: m.HostPath, Options: opts})
	}
	if spec.MemoryMB > 0 {
		limit := spec.MemoryMB << 20
		s.Linux.Resources.Memory = &ociMemory{Limit: &limit}
		if swapAccounting {
			s.Linux.Resources.Memory.Swap = &limit // memory+swap = memory: no swap
		}
	}
	if spec.MaxPids > 0 {
		s.Linux.Resources.Pids = &ociPids{Limit: spec.MaxPids + initPids}
	}
	if spec.CPUWeight > 0 {
		shares := cpuShares(spec.CPUWeight)
		s.Linux.Resources.CPU = &ociCPU{Shares: &shares}
	}
	return s
}

// cpuShares maps Diego's CPU weight (1-100, 100 = a full share) onto
// cgroup v1 cpu.shares (1024 = the default share), at least 2.
func cpuShares(weight uint32) uint64 {
	return max(uint64(weight)*1024/100, 2)
}

// passwdEntry is a user of the container's /etc/passwd.
type passwdEntry struct {
	uid, gid uint32
	home     string
}

// lookupUser finds name (or a numeric uid) in rootfs/etc/passwd; "" is root.
func lookupUser(rootfs, name string) (passwdEntry, error) {
	if name == "" || name == "root" {
		return passwdEntry{0, 0, "/root"}, nil
	}
	path, err := secureJoin(rootfs, "/etc/passwd")
	if err != nil {
		return passwdEntry{}, err
	}
	f, err := os.Open(path)
	if err == nil {
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			fs := strings.Split(s.Text(), ":")
			if len(fs) < 6 || (fs[0] != name && fs[2] != name) {
				continue
			}
			uid, err1 := strconv.ParseUint(fs[2], 10, 32)
			gid, err2 := strconv.ParseUint(fs[3], 10, 32)
			if err1 == nil && err2 == nil {
				return passwdEntry{uint32(uid), uint32(gid), fs[5]}, nil
			}
		}
	}
	if uid, err := strconv.ParseUint(name, 10, 32); err == nil {
		return passwdEntry{uint32(uid), uint32(uid), "/"}, nil
	}
	return passwdEntry{}, fmt.Errorf("user %q not found in the container's /etc/passwd", name)
}
