// Command auctioneer places LRP instances and tasks on cells, serving the auction API while it holds the auctioneer lock.
package main

import (
	"github.com/diego-go/diego/src/auctioneer/daemon"
	"github.com/diego-go/diego/src/internal/command"
)

// cmd is the auctioneer's command line; the tests run it in-process.
var cmd = command.Daemon[daemon.Config]{Name: "auctioneer", Load: daemon.Load, LogLevel: daemon.Config.Level, Run: daemon.Run}

func main() { cmd.Main() }
