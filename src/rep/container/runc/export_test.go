package runc

// ContainerID exposes the runc id of a handle to the tests.
func ContainerID(b *Backend, handle string) string { return b.containerID(handle) }
