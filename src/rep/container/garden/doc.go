// Package garden is the container backend for BOSH cells co-located with
// garden-runc: a client of an external Garden server.
//
// Mapping. A Spec becomes a garden.ContainerSpec: the handle, the rootfs as
// Image.URI ("preloaded:NAME" is looked up in Config.DefaultRootFS, since
// garden-runc only understands paths and docker:// or oci:// URIs), Env,
// bind mounts (host origin, RO or RW),
// memory (LimitInBytes), disk (ByteHard), pids (Max), CPU (Weight and
// LimitInShares, weight 1-100 scaled to 1024 shares as the executor does) and
// the properties, plus internal ones: Config.Owner under OwnerProperty (so
// Containers lists only this rep's containers) and the memory and disk limits
// (read back by Metrics). Internal properties (prefix "diego-go.") are not
// reported by Info.
//
// Ports. Each requested container port is sent at create time as a
// ContainerSpec.NetIn rule with host port 0, as the executor does, so the
// server allocates the host port with the container. After create, a port the
// server did not map is asked for with NetIn(0, port). Info reports the
// mapped ports in the server's order, HostIP the server's ExternalIP (where
// mapped ports answer; its HostIP when empty) and ContainerIP.
//
// Processes get the executor's networking variables after their own
// (container.NetworkEnv from the container's Info). Signal forwards only
// SIGTERM and SIGKILL, the only signals the
// Garden protocol carries; others fail with an error wrapping
// errors.ErrUnsupported. Garden's server stops reading a process's stream
// (and so its signals) once stdin is closed: a nil Stdin is therefore not
// sent as an empty stream, and the process's stdin stays open, never written;
// with a Stdin, Signal after it reached end of file is lost (Stop still works).
//
// Errors. garden.ContainerNotFoundError maps to container.ErrNotFound; a
// message saying a handle already exists or is in use to container.ErrExists;
// one about capacity (or "insufficient", "maximum") to container.ErrNoCapacity;
// "rootfs not found" to container.ErrRootFSMissing. The Garden client takes no
// context: a call whose ctx ends returns ctx.Err() at once and is left to
// finish in the background.
package garden
