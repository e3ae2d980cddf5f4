// Command ssh-proxy runs the SSH proxy from a JSON config file.
package main

import (
	"github.com/diego-go/diego/src/internal/command"
	"github.com/diego-go/diego/src/sshproxy/daemon"
)

func main() { sshProxyCommand.Main() }

// sshProxyCommand maps the flags and the config file to daemon.Run.
var sshProxyCommand = command.Daemon[daemon.Config]{Name: "ssh-proxy", Load: daemon.Load, LogLevel: daemon.Config.Level, Run: daemon.Run}
