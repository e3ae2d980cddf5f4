// Command file-server serves lifecycle bundles from a JSON config file.
package main

import (
	"github.com/diego-go/diego/src/fileserver/daemon"
	"github.com/diego-go/diego/src/internal/command"
)

func main() { fileServerCommand.Main() }

// fileServerCommand maps the flags and the config file to daemon.Run.
var fileServerCommand = command.Daemon[daemon.Config]{Name: "file-server", Load: daemon.Load, LogLevel: daemon.Config.Level, Run: daemon.Run}
