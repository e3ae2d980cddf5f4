// Command bbs serves the Diego BBS API from a JSON config file.
package main

import (
	"github.com/diego-go/diego/src/bbs/config"
	"github.com/diego-go/diego/src/bbs/daemon"
	"github.com/diego-go/diego/src/internal/command"
)

func main() {
	command.Daemon[config.Config]{Name: "bbs", Load: config.Load, LogLevel: config.Config.Level, Run: daemon.Run}.Main()
}
