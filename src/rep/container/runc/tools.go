package runc

import (
	"fmt"
	"os/exec"
)

// tools are the host programs the backend runs besides runc and ip.
type tools struct {
	mkfs, mount, losetup               string // e2fsprogs, util-linux: the disk quota
	nsenter, iptables, iptablesRestore string // util-linux, iptables: egress rules and NAT
}

// findTools looks the tools up on PATH.
func findTools() (tools, error) {
	var t tools
	for _, x := range []struct {
		p    *string
		name string
		pkg  string
	}{
		{&t.mkfs, "mkfs.ext4", "e2fsprogs"},
		{&t.nsenter, "nsenter", "util-linux"},
		{&t.iptables, "iptables", "iptables"},
		{&t.iptablesRestore, "iptables-restore", "iptables"},
	} {
		var err error
		if *x.p, err = exec.LookPath(x.name); err != nil {
			return t, fmt.Errorf("runc backend: %w (install the %s package)", err, x.pkg)
		}
	}
	return t, nil
}
