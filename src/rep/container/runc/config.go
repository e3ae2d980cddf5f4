package runc

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/diego-go/diego/src/rep/container/host"
)

// Rootfs modes.
const (
	RootFSAuto    = "auto"    // overlayfs, falling back to a copy if mounting fails
	RootFSOverlay = "overlay" // overlayfs only
	RootFSCopy    = "copy"    // a full copy of the rootfs per container
)

// Config configures the runc backend. Zero fields take the defaults of
// DefaultConfig through WithDefaults (New does this).
type Config struct {
	// StateDir holds runc's state and one bundle per container; a backend
	// created on the same StateDir finds the containers of the previous one.
	StateDir string `json:"state_dir"`
	// RuncPath and IPPath are the runc and iproute2 "ip" binaries.
	RuncPath string `json:"runc_path"`
	IPPath   string `json:"ip_path"`
	// RootFSes maps preloaded rootfs names ("preloaded:NAME") to directories.
	RootFSes map[string]string `json:"rootfses"`
	// RootFSMode is "auto", "overlay" or "copy".
	RootFSMode string `json:"rootfs_mode"`
	// The host settings (host_ip, port range, stop_grace_period, capacity,
	// default_path), shared with the process backend.
	host.Settings
	// ListenIP is where the port proxies listen.
	ListenIP string `json:"listen_ip"`
	// NetworkCIDR is split into one /30 per container.
	NetworkCIDR string `json:"network_cidr"`
	// DNSServers are the nameservers of the containers' /etc/resolv.conf;
	// their port 53 is always allowed out. Default: the host's non-loopback
	// resolvers (/etc/resolv.conf, else systemd-resolved's upstreams).
	DNSServers []string `json:"dns_servers"`
	// CgroupParent is the cgroup containers are created under; a relative
	// path is relative to the rep's own cgroup.
	CgroupParent string `json:"cgroup_parent"`
	// Logger receives the backend's logs (slog.Default() when nil).
	Logger *slog.Logger `json:"-"`
}

// Defaults.
const (
	DefaultPortRangeStart  = 61000
	DefaultPortRangeEnd    = 65000
	DefaultMaxContainers   = 250
	DefaultStopGracePeriod = 10 * time.Second
	DefaultNetworkCIDR     = "10.254.0.0/16"
	DefaultCgroupParent    = "diego-runc"
	DefaultListenIP        = "0.0.0.0"
	DefaultPATH            = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
)

// DefaultConfig returns the defaults (HostIP and capacity are detected).
func DefaultConfig() Config {
	return Config{
		StateDir:   filepath.Join(os.TempDir(), "diego-runc"),
		RuncPath:   "runc",
		IPPath:     "ip",
		RootFSMode: RootFSAuto,
		Settings: host.Settings{
			HostIP:          detectHostIP(),
			PortRangeStart:  DefaultPortRangeStart,
			PortRangeEnd:    DefaultPortRangeEnd,
			StopGracePeriod: host.Duration(DefaultStopGracePeriod),
			MaxContainers:   DefaultMaxContainers,
			DefaultPath:     DefaultPATH,
		},
		ListenIP:     DefaultListenIP,
		NetworkCIDR:  DefaultNetworkCIDR,
		CgroupParent: DefaultCgroupParent,
		DNSServers:   hostResolvers(),
	}
}

// WithDefaults fills every zero field from DefaultConfig.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	set := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	set(&c.StateDir, d.StateDir)
	set(&c.RuncPath, d.RuncPath)
	set(&c.IPPath, d.IPPath)
	set(&c.RootFSMode, d.RootFSMode)
	set(&c.ListenIP, d.ListenIP)
	set(&c.NetworkCIDR, d.NetworkCIDR)
	set(&c.CgroupParent, d.CgroupParent)
	if c.DNSServers == nil {
		c.DNSServers = d.DNSServers
	}
	c.Settings = c.Settings.WithDefaults(d.Settings)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports every invalid field.
func (c Config) Validate() error {
	errs := []error{host.Dir("state_dir", c.StateDir)}
	for name, dir := range c.RootFSes {
		if name == "" || !filepath.IsAbs(dir) {
			errs = append(errs, fmt.Errorf("rootfses: %q -> %q: want a name and an absolute directory", name, dir))
		}
	}
	switch c.RootFSMode {
	case RootFSAuto, RootFSOverlay, RootFSCopy:
	default:
		errs = append(errs, fmt.Errorf("rootfs_mode %q: want auto, overlay or copy", c.RootFSMode))
	}
	errs = append(errs, c.Settings.Validate()...)
	if net.ParseIP(c.ListenIP) == nil {
		errs = append(errs, fmt.Errorf("listen_ip %q is not an IP address", c.ListenIP))
	}
	if p, err := netip.ParsePrefix(c.NetworkCIDR); err != nil || !p.Addr().Is4() || p.Bits() > 30 {
		errs = append(errs, fmt.Errorf("network_cidr %q: want an IPv4 prefix of /30 or larger", c.NetworkCIDR))
	}
	for _, ns := range c.DNSServers {
		if a, err := netip.ParseAddr(ns); err != nil || !a.Is4() {
			errs = append(errs, fmt.Errorf("dns_servers: %q is not an IPv4 address", ns))
		}
	}
	if c.CgroupParent == "" {
		errs = append(errs, errors.New("cgroup_parent is required"))
	}
	return errors.Join(errs...)
}

// detectHostIP is the address of the interface holding the default route,
// or 127.0.0.1 (no packet is sent).
func detectHostIP() string {
	conn, err := net.Dial("udp4", "192.0.2.1:9")
	if err != nil {
		return "127.0.0.1"
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).IP.String()
}
