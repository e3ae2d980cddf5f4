// Package gardenserver serves one of our container backends through Garden's
// server (code.cloudfoundry.org/garden/server): it implements garden.Backend
// and garden.Container over a container.Backend, so the garden backend's
// contract test runs against a real Garden server.
//
// Ports. A container.Backend allocates host ports at Create from
// Spec.Ports, so the container ports must be known then: they are taken from
// ContainerSpec.NetIn (host port 0; a fixed host port is refused), which is
// how the garden backend and the executor send them. NetIn afterwards only
// reports an existing mapping: NetIn(0 or its host port, containerPort)
// returns the host port mapped at create; a container port not requested at
// create fails. Info reports the mappings as MappedPorts and the backend's
// HostIP as both HostIP and ExternalIP.
//
// Limits. Memory LimitInBytes, Disk ByteHard, Pid Max and CPU shares
// (LimitInShares, else Weight; 1024 shares = weight 100) become the Spec's
// MemoryMB, DiskMB, MaxPids and CPUWeight; the Current*Limits calls report
// them back from Metrics where the backend has them.
//
// Not supported (a clear error): Attach, SetProperty, RemoveProperty, NetOut,
// BulkNetOut with rules, SetTTY. Properties are fixed at create.
// SetGraceTime is accepted and ignored: GraceTime is 0, containers are never
// reaped for being idle. ContainerSpec.Image.URI (else RootFSPath) is the
// Spec's RootFS; host-origin bind mounts become the Spec's BindMounts
// (RO mode = ReadOnly), container-origin ones are refused; privileged and
// network are ignored.
package gardenserver
