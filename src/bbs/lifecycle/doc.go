// Package lifecycle decides actual LRP and task state transitions: given the
// rows as they are, it returns the rows as they must become, or the
// reference's typed error. It does no I/O and reads no clock.
package lifecycle
