// Package sim is a container backend that runs nothing: containers and
// processes are in-memory bookkeeping, so one process can host hundreds of
// thousands of them (simulated cells, see docs/sim-cells.md).
//
// A process is one of three kinds. A shell script ("/bin/sh -c SCRIPT", or a
// streamed-in file starting with "#!") is interpreted by a small shell that
// knows the builtins echo, pwd, cd, exit, exec, trap, kill, wait, sleep, cat,
// env, export, true, false and ":", if/while, &&, ||, & and redirections.
// A streamed-in binary given "listen" as its first argument accepts on the
// host port mapped to $PORT and greets each connection with "hello $PORT"
// (as the contract suite's helper does); "mem N" reports N MiB in use.
// Anything else is the simulated app: it costs no goroutine, "starts" after
// Config.StartDelay (Healthy), and runs until it is signalled or crashed
// (Backend.Crash).
package sim
