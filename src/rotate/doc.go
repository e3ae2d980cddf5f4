// Package rotate rotates the BBS's encryption key online, with the key ring
// kept in Vault: it adds a fresh 256-bit key, makes every BBS load it, makes
// it active, has the serving BBS re-encrypt every encrypted column while the
// API keeps serving, and only once the BBS reports no row under any other
// label removes the old keys from Vault and reloads again.
//
// It keeps no state of its own: each step is derived from the Vault document
// (rotating_to marks an unfinished rotation) and the BBS admin status, so a
// run killed at any point converges when run again. The diego CLI command
// rotate-encryption-key, the BOSH errand and the pipeline's rotation task are
// thin wrappers around Run.
//
// RunManifest (manifest.go) is the same rotation for keys kept in the BOSH
// manifest: two deploys (the new key, then the new key active), each
// verified through the BBS admin API, then re-encryption followed as in Run;
// where it is is derived from the BBSs' key rings.
//
// Both modes read first, plan with a pure planner (plan.go: PlanVault,
// PlanManifest), then run the plan's steps through one step runner
// (driver.go).
package rotate
