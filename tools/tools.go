//go:build tools

// Package tools pins the bosh CLI (built by ci/dev/build-bosh.sh).
package tools

import _ "github.com/cloudfoundry/bosh-cli/v7"
