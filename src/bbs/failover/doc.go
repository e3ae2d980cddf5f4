// Package failover holds the leader-election test: two real BBS processes on
// one database, the leader killed with SIGKILL, the standby taking over.
package failover
