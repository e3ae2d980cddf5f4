// Package boshrel reads this repository's BOSH release content (jobs/,
// manifests/, ops-files/) with the bosh CLI's own libraries: go-patch and
// director/template to interpolate manifests as `bosh int` does, the
// release/job manifest reader for job specs, and templatescompiler with its
// ERB renderer (which execs ruby) to render job templates as
// `bosh create-env` does.
package boshrel

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	boshopts "github.com/cloudfoundry/bosh-cli/v7/cmd/opts"
	boshtpl "github.com/cloudfoundry/bosh-cli/v7/director/template"
	"github.com/cppforlife/go-patch/patch"
)

// Interpolation is one `bosh int` invocation's inputs.
type Interpolation struct {
	Manifest  string            // path of the base manifest
	OpsFiles  []string          // -o, in order
	VarsFiles []string          // -l, in order
	Vars      map[string]string // -v NAME=VALUE
	VarsStore string            // --vars-store PATH: generates `variables:` (real CA, certs, passwords); empty: none
	VarErrs   bool              // --var-errs: every ((variable)) must resolve
}

// Interpolate applies the ops-files and variables to the manifest exactly as
// `bosh interpolate` does (director/template.Template.Evaluate with the CLI's
// own -o/-l/-v/--vars-store flag types).
func Interpolate(in Interpolation) ([]byte, error) {
	manifest, err := os.ReadFile(in.Manifest)
	if err != nil {
		return nil, err
	}
	var ops boshopts.OpsFlags
	if ops.OpsFiles, err = flagArgs[boshopts.OpsFileArg](in.OpsFiles); err != nil {
		return nil, err
	}
	var vars boshopts.VarFlags
	if vars.VarsFiles, err = flagArgs[boshtpl.VarsFileArg](in.VarsFiles); err != nil {
		return nil, err
	}
	for k, v := range in.Vars {
		var kv boshtpl.VarKV
		if err := kv.UnmarshalFlag(k + "=" + v); err != nil {
			return nil, fmt.Errorf("-v %s=%s: %w", k, v, err)
		}
		vars.VarKVs = append(vars.VarKVs, kv)
	}
	if in.VarsStore != "" {
		if err := vars.VarsFSStore.UnmarshalFlag(in.VarsStore); err != nil {
			return nil, err
		}
	}
	tpl := boshtpl.NewTemplate(manifest)
	return tpl.Evaluate(vars.AsVariables(), ops.AsOp(), boshtpl.EvaluateOpts{ExpectAllKeys: in.VarErrs})
}

// ApplyOps applies go-patch operations (already parsed) to a manifest
// without resolving variables, like `bosh int -o` with no vars.
func ApplyOps(manifest []byte, ops patch.Ops) ([]byte, error) {
	return boshtpl.NewTemplate(manifest).Evaluate(boshtpl.StaticVariables{}, ops, boshtpl.EvaluateOpts{})
}

// RepoRoot finds the repository root (the directory holding go.mod and jobs/
// or the tools/ module) from the working directory upwards.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/diego-go/diego\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no github.com/diego-go/diego go.mod above %s", dir)
		}
	}
}

// flagArgs parses each value as the bosh CLI's flag type T parses its -o or
// -l argument (reading the file it names).
func flagArgs[T any, P interface {
	*T
	UnmarshalFlag(string) error
}](values []string) ([]T, error) {
	var out []T
	for _, v := range values {
		var arg T
		if err := P(&arg).UnmarshalFlag(v); err != nil {
			return nil, err
		}
		out = append(out, arg)
	}
	return out, nil
}
