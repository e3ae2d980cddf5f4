//go:build tools

// Package tools pins the Concourse module so that fly and concourse build
// from the same version the pipeline tests validate with.
package tools

import (
	_ "github.com/concourse/concourse/atc/configvalidate"
	_ "github.com/concourse/concourse/cmd/concourse"
	_ "github.com/concourse/concourse/fly"
)
