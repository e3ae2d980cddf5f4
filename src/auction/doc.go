// Package auction decides, from a snapshot of cell states and a batch of LRP-instance and task start requests, which cell each request starts on, which fail and why, and which wait for a later round.
package auction
