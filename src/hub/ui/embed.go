// Package ui holds Diego Hub's built single-page UI, embedded into the binaries.
package ui

import (
	"embed"
	"io/fs"
)

// dist is the output of `make hub-ui` (npm ci && npm run build); only its
// .keep file is in git.
//
//go:embed all:dist
var dist embed.FS

// Files returns the built UI's files; it has no index.html when the UI was
// not built.
func Files() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed pattern above guarantees the directory
	}
	return sub
}

// Built reports whether the UI was built into this binary.
func Built() bool {
	_, err := fs.Stat(Files(), "index.html")
	return err == nil
}
