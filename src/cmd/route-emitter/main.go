// Command route-emitter registers the routes of running instances with the gorouters over NATS, from a JSON config file.
package main

import (
	"github.com/diego-go/diego/src/internal/command"
	"github.com/diego-go/diego/src/routeemitter/daemon"
)

func main() { routeEmitterCommand.Main() }

// routeEmitterCommand maps the flags and the config file to daemon.Run.
var routeEmitterCommand = command.Daemon[daemon.Config]{Name: "route-emitter", Load: daemon.Load, LogLevel: daemon.Config.Level, Run: daemon.Run}
