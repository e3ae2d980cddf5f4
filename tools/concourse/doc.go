// Package concourse holds the pipeline and task validation tests of the
// repository (see docs/pipelines.md).
package concourse
