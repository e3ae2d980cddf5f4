// Command hub serves Diego Hub, the web UI and JSON API over a cluster,
// from a JSON config file.
package main

import (
	"github.com/diego-go/diego/src/hub/daemon"
	"github.com/diego-go/diego/src/internal/command"
)

func main() { hubCommand.Main() }

// hubCommand maps the flags and the config file to daemon.Run.
var hubCommand = command.Daemon[daemon.Config]{Name: "hub", Load: daemon.Load, LogLevel: daemon.Config.Level, Run: daemon.Run}
