// Package archtest checks the layout rules of docs/architecture.md: no import
// cycle between the top-level packages under src/, no Go file over 600 lines,
// and no build output committed. It has only tests.
package archtest
