// Package acceptance is Diego's acceptance suite: Go tests that exercise any
// Diego (a `diego up` cluster, the local release deployment, a BOSH
// deployment) through its public APIs only — the BBS with the reference Go
// client, plus the cells' local evacuation endpoint and, for a local
// cluster, the component processes named in its target file.
//
// The suite is configured by a JSON file (Config, ACCEPTANCE_CONFIG); without
// one, it builds every command, starts `diego up` in a temporary directory
// and runs every feature group against it. Each test works in its own domain
// and removes what it desired. See docs/acceptance.md.
package acceptance
