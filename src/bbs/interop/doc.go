// Package interop holds the suite that drives our BBS with the reference's
// own Go client (code.cloudfoundry.org/bbs) through every lifecycle.
package interop
