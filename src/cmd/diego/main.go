// Command diego is the Diego operator command line: the reference operator
// tool's commands against a BBS and Locket, plus conveniences (see
// docs/cli.md).
package main

import (
	"slices"

	"github.com/diego-go/diego/src/cli"
)

// commands is the subcommand table: the operator commands, then the local
// cluster commands, one entry each, e.g.
// {Name: "up", Summary: "start a local cluster", Run: up.Run}.
var commands = slices.Concat(cli.Commands(), []cli.Command{upCommand, benchCommand, hubCommand})

func main() { cli.Main(commands) }
