// Package version carries the build's version string, set with -ldflags.
package version

// Version is overwritten at build time: -ldflags "-X github.com/diego-go/diego/src/version.Version=v1.2.3".
var Version = "dev"
