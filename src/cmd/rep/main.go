// Command rep runs a Diego cell: it holds the cell's presence in Locket,
// serves the rep API to the auctioneer and the BBS, and runs the LRP
// instances and tasks placed on it in the configured container backend.
//
// It stops gracefully on SIGTERM or SIGINT (instances stopped and removed
// from the BBS, presence released) and exits 0. A drain is POST /evacuate
// on local_address (202): once the evacuation finishes the rep stops itself
// and exits 0, so a drain script polls GET /ping until it stops answering.
// A config error or a runtime failure exits 1. See README.md here for the
// config file.
package main

import (
	"github.com/diego-go/diego/src/internal/command"
	"github.com/diego-go/diego/src/rep/daemon"
)

func main() {
	command.Daemon[daemon.Config]{Name: "rep", Load: daemon.Load, LogLevel: daemon.Config.Level, Run: daemon.Run}.Main()
}
