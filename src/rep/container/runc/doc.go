// Package runc is the Linux container backend that runs every container as a runc container with its own namespaces, cgroup limits, rootfs and network.
//
// Layout. Under Config.StateDir, runc/ is runc's --root and containers/ID/
// holds one OCI bundle per container: config.json (generated from
// the spec), meta.json (what the backend needs to find the container again
// after a restart), rootfs/ (an overlayfs of the named rootfs, or a copy of
// it when overlayfs is not available or RootFSMode is "copy"), upper/ and
// work/ (the overlay's writable layers) and procs/ (pid files of processes).
// ID is derived from the state dir and the handle.
//
// Init and processes. A container's init is "/bin/sh -c" running a sleep and
// wait loop (it reaps orphans, being PID 1 of the PID namespace). Run starts
// each process with "runc exec" from the host through a shell that points
// stdout and stderr at two FIFOs the rep makes in the container's /dev and
// reads, so runc exits with the process (its exit status, 128+signal when
// killed) rather than with its last background child; Signal goes to the
// process's host pid from runc's pid file. Stop signals every process in the
// container's cgroup but init (SIGTERM, SIGKILL after StopGracePeriod), then
// kills init: the container is stopped and runs no new processes.
//
// Network. Each container has a named network namespace
// ("ip netns", diego-ID) with a veth pair: a /30 out of NetworkCIDR per
// container, the host end .1 and the container .2. Mapped ports are served by
// a userspace TCP proxy in the rep: one listener per host port (from
// PortRangeStart-PortRangeEnd) on ListenIP, forwarding each connection to
// ContainerIP:container port. Processes see PORT and CF_INSTANCE_* as in
// Diego: the container port inside, the host port outside.
//
// Bind mounts. Spec.BindMounts become OCI bind mounts ("rbind", plus "ro"
// when ReadOnly); runc creates the mount points in the rootfs. StreamIn and
// StreamOut resolve a path in a mount to the mount's host directory (a
// read-only one refuses writes with EROFS), as a process sees it.
//
// Limits. MemoryMB (memory.limit_in_bytes, swap included when the kernel
// accounts it), MaxPids (pids.max, plus the two processes of init) and
// CPUWeight (cpu.shares) are cgroup limits; an OOM kill in the container's
// memory cgroup sets Info.OOMKilled. DiskMB is reported, not enforced.
//
// Recovery. New loads every container found under StateDir/containers and
// restarts its port proxies: a backend created on the same state dir after
// a restart of the rep finds the containers the previous one made.
package runc
