// Package convergence decides, from one snapshot of cluster state, which actual LRP and task rows convergence must change, auction, stop or call back, without doing any of it.
package convergence
