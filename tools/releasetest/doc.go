// Package releasetest tests the BOSH release content of this repository
// (jobs/, packages/, manifests/diego.yml, ops-files/, ci/dev/release.sh)
// with the bosh CLI's own libraries and the real bin/bosh:
//
//   - ops-files/README.md lists every ops-file and nothing else;
//   - `bosh int --var-errs` of the base manifest and of every ops-file with its
//     example vars file;
//   - every template of every job of ours renders (templatescompiler + ruby)
//     for the base manifest and for every ops-file, each bpm.yml names an
//     executable of a package the job depends on, shell templates pass
//     `bash -n`, and the binaries accept the rendered configs (-check-config);
//   - the same for the ops-files meant to be applied together (combinations);
//   - the BBS's Vault key source as rendered, the template errors for
//     inconsistent Vault properties, and the rotate-encryption-key errand's
//     bin/run (its diego command line, and the real diego accepting it);
//   - the release tarball's packages compile offline from their sources in
//     dependency order and the binaries run.
//
// Set DIEGO_RELEASETEST_SKIP_TARBALL=1 to leave out the (slow) tarball test
// when iterating locally; `make test` never sets it.
package releasetest
