// Command locket serves the Locket lock service from a JSON config file.
package main

import (
	"github.com/diego-go/diego/src/internal/command"
	"github.com/diego-go/diego/src/locket/daemon"
)

func main() { locketCommand.Main() }

// locketCommand maps the flags and the config file to daemon.Run.
var locketCommand = command.Daemon[daemon.Config]{Name: "locket", Load: daemon.Load, LogLevel: daemon.Config.Level, Run: daemon.Run}
