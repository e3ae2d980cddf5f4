package garden

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
)

// Config configures the garden backend. Zero fields take the defaults of
// DefaultConfig when passed through WithDefaults (New does this).
type Config struct {
	// Network is "unix" or "tcp". An Address starting with "unix://" or
	// "tcp://" sets it.
	Network string `json:"network"`
	// Address is the socket path (unix) or host:port (tcp) of the Garden server.
	Address string `json:"address"`
	// Owner is stored under OwnerProperty on every container created;
	// Containers lists only containers with this owner.
	Owner string `json:"owner"`
	// DefaultRootFS maps preloaded rootfs names to what the Garden server
	// is given, e.g. "cflinuxfs4" (or "preloaded:cflinuxfs4") ->
	// "/var/vcap/packages/cflinuxfs4/rootfs.tar". A Spec.RootFS
	// "preloaded:NAME" without a mapping fails with ErrRootFSMissing; any
	// other RootFS (a path, docker://, oci://) is passed as is.
	DefaultRootFS map[string]string `json:"default_rootfs"`
	// Logger; nil = slog.Default().
	Logger *slog.Logger `json:"-"`
}

// Defaults.
const (
	DefaultNetwork = "unix"
	DefaultAddress = "/var/vcap/data/garden/garden.sock"
	DefaultOwner   = "diego-go-rep"
)

// DefaultConfig returns the defaults: garden-runc's socket on a BOSH cell.
func DefaultConfig() Config {
	return Config{Network: DefaultNetwork, Address: DefaultAddress, Owner: DefaultOwner}
}

// WithDefaults moves a scheme in Address into Network and fills every zero
// field from DefaultConfig.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	for _, scheme := range []string{"unix", "tcp"} {
		if rest, ok := strings.CutPrefix(c.Address, scheme+"://"); ok {
			c.Address = rest
			if c.Network == "" {
				c.Network = scheme
			}
		}
	}
	if c.Network == "" {
		c.Network = d.Network
	}
	if c.Address == "" && c.Network == DefaultNetwork {
		c.Address = d.Address
	}
	if c.Owner == "" {
		c.Owner = d.Owner
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports every invalid field.
func (c Config) Validate() error {
	var errs []error
	switch c.Network {
	case "unix":
		if !filepath.IsAbs(c.Address) {
			errs = append(errs, fmt.Errorf("address %q must be an absolute socket path for network unix", c.Address))
		}
	case "tcp":
		if _, _, err := net.SplitHostPort(c.Address); err != nil {
			errs = append(errs, fmt.Errorf("address %q must be host:port for network tcp: %w", c.Address, err))
		}
	default:
		errs = append(errs, fmt.Errorf("network %q must be unix or tcp", c.Network))
	}
	if c.Owner == "" {
		errs = append(errs, errors.New("owner is required"))
	}
	for name, rootfs := range c.DefaultRootFS {
		if name == "" || rootfs == "" {
			errs = append(errs, fmt.Errorf("default_rootfs %q -> %q: name and rootfs must not be empty", name, rootfs))
		}
	}
	return errors.Join(errs...)
}
