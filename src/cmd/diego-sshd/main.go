// Command diego-sshd is the SSH daemon that runs inside an LRP's container
// (the reference's flags); build it with CGO_ENABLED=0 for a static binary.
package main

import (
	"github.com/diego-go/diego/src/internal/command"
	"github.com/diego-go/diego/src/sshd"
)

func main() { command.Tool("diego-sshd", sshd.Command) }
