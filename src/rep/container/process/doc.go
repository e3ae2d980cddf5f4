// Package process is the embedded default container backend: no root, no
// namespaces, no cgroups. A "container" is a directory under Config.RootDir
// (its home) plus the process groups started in it.
//
// Paths. Container paths (StreamIn/StreamOut paths, ProcessSpec.Dir) resolve
// under the home: "/" is the home and ".." cannot climb out. ProcessSpec.Path
// prefers a file inside the container (an absolute path existing under the
// home, or a bare name found in PATH under the home) and otherwise runs the
// host's program, so "/bin/sh" is the host's shell. The rootfs is recorded
// (and checked against Config.RootFSes when set) but not used. User is
// ignored: processes run as the rep's user. NoFile is applied through a
// /bin/sh "ulimit -n" wrapper.
//
// Processes. Each Run starts a process group (Setpgid); Signal, Stop and
// Destroy signal whole groups, so children and grandchildren are covered.
// A process that leaves its group (setsid) escapes: there are no cgroups to
// follow it. Stop sends SIGTERM, SIGKILL after Config.StopGracePeriod (at once
// when kill is true), and returns when no process of those groups is alive
// (zombies whose parent has gone count as gone) and every started process has
// been reaped. A stopped container runs no new processes.
//
// Ports and environment. There is no network isolation, so the port an app
// listens on is the host port itself. Each requested container port gets a
// host port from [PortRangeStart, PortRangeEnd] (round-robin, skipping ports
// something on the host already listens on) and Info reports
// PortMapping{ContainerPort: requested, HostPort: allocated}. The app is told
// to listen on the allocated port: every process's env is PATH (DefaultPath
// unless given), the container's Env, the process's Env, then the executor's
// networking variables, then PORT:
//
//	CF_INSTANCE_IP, CF_INSTANCE_INTERNAL_IP  HostIP
//	CF_INSTANCE_PORT, CF_INSTANCE_ADDR       first host port, HostIP:that port
//	CF_INSTANCE_PORTS                        [{"external":H,"internal":H},...]
//	PORT                                     see below
//
// CF_INSTANCE_PORTS' "internal" is the host port too, since that is where the
// process must listen. PORT naming a requested container port (Diego's
// PORT=8080) becomes that port's host port; a missing PORT becomes the first
// host port; any other PORT is left alone. With no ports, the CF_INSTANCE_
// port variables are empty ("[]"), as in the executor.
//
// Bind mounts (Spec.BindMounts) are symlinks at home/ContainerPath to the
// host path; since processes see the host's filesystem, every environment
// value naming a mount's container path, or a path under it, is rewritten
// to that path under the home (CF_INSTANCE_CERT, CF_SYSTEM_CERT_PATH).
// ReadOnly is not enforced.
//
// Limits and metrics. Memory is enforced best-effort: every
// MemoryCheckInterval the RSS of the container's processes is summed from
// /proc and, over MemoryMB, every process is SIGKILLed and Info.OOMKilled set
// (the runc backend enforces with cgroups). Disk and MaxPids are not enforced;
// CPUWeight is ignored. Metrics come from /proc: live processes of the
// container's groups, their RSS and CPU (plus CPU of reaped processes), and
// the apparent size of the files in the home.
//
// Capacity defaults to the machine's memory (/proc/meminfo), the size of the
// filesystem holding RootDir (statfs) and 250 containers; Create fails with
// ErrNoCapacity beyond MaxContainers or when the port range is exhausted.
// Memory and disk are the rep's to account for.
package process
