//go:build tools

// Package tools pins the bosh CLI (built by scripts/build-bosh.sh).
package tools

import _ "github.com/cloudfoundry/bosh-cli/v7"
