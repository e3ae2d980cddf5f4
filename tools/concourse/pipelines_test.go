package concourse

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/concourse/concourse/atc"
	"github.com/concourse/concourse/atc/configvalidate"
	"github.com/concourse/concourse/vars"
	"sigs.k8s.io/yaml"
)

// repoInput is the name every pipeline gives the diego-go repository (a git
// resource); task files and run paths are named under it.
const repoInput = "diego"

// instanceVars are the instance vars a pipeline is set with (fly
// set-pipeline -i), for validating it with its vars file applied.
var instanceVars = map[string]vars.StaticVariables{
	"preview.yml": {"branch": "validate-branch"},
}

// listParams are the task params that name files of the repository.
var listParams = []string{"OPS_FILES", "VARS_FILES"}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "pipelines")); err != nil {
		t.Fatalf("no pipelines/ in %s: %v", root, err)
	}
	return root
}

func globYAML(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("nothing matches %s", pattern)
	}
	return files
}

// validatePipeline is `fly validate-pipeline --strict`: strict YAML (no
// duplicate keys, no unknown fields) into atc.Config, then configvalidate,
// failing on errors and on warnings.
func validatePipeline(t *testing.T, name string, b []byte) atc.Config {
	t.Helper()
	if err := yaml.UnmarshalStrict(b, &map[string]any{}); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var c atc.Config
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	warnings, errs := configvalidate.Validate(c)
	for _, w := range warnings {
		t.Errorf("%s: warning (%s): %s", name, w.Type, w.Message)
	}
	for _, e := range errs {
		t.Errorf("%s: %s", name, e)
	}
	return c
}

// evaluate interpolates ((vars)) that the static vars name, leaving the
// others (credentials) in place, as fly set-pipeline -l does.
func evaluate(t *testing.T, b []byte, static vars.StaticVariables) []byte {
	t.Helper()
	out, err := vars.NewTemplate(b).Evaluate(static, vars.EvaluateOpts{})
	if err != nil {
		t.Fatalf("interpolating: %v", err)
	}
	return out
}

// varsFiles are the vars files of a pipeline: ci/vars/pipelines/<pipeline>.yml
// (required) and ci/vars/pipelines/<pipeline>-*.yml (other environments), by
// file name, each with the pipeline's instance vars added.
func varsFiles(t *testing.T, root, pipeline string) map[string]vars.StaticVariables {
	t.Helper()
	base := strings.TrimSuffix(filepath.Base(pipeline), ".yml")
	dir := filepath.Join(root, "ci", "vars", "pipelines")
	if _, err := os.Stat(filepath.Join(dir, base+".yml")); err != nil {
		t.Fatalf("every pipeline has a vars file: %v", err)
	}
	others, err := filepath.Glob(filepath.Join(dir, base+"-*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]vars.StaticVariables{}
	for _, path := range append([]string{filepath.Join(dir, base+".yml")}, others...) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		static := vars.StaticVariables{}
		if err := yaml.UnmarshalStrict(b, &static); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for k, v := range instanceVars[filepath.Base(pipeline)] {
			static[k] = v
		}
		out[filepath.Base(path)] = static
	}
	return out
}

// evaluated is each vars file's interpolation of the pipeline, as atc.Config.
func evaluated(t *testing.T, root, pipeline string) map[string]atc.Config {
	t.Helper()
	b, err := os.ReadFile(pipeline)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]atc.Config{}
	for name, static := range varsFiles(t, root, pipeline) {
		var c atc.Config
		if err := yaml.UnmarshalStrict(evaluate(t, b, static), &c); err != nil {
			t.Fatalf("with %s: %v", name, err)
		}
		out[name] = c
	}
	return out
}

// TestPipelinesValidate: every pipelines/*.yml as it is in git (credentials
// and static vars as ((vars))) and with its vars file applied.
func TestPipelinesValidate(t *testing.T) {
	root := repoRoot(t)
	for _, p := range globYAML(t, filepath.Join(root, "pipelines", "*.yml")) {
		t.Run(filepath.Base(p), func(t *testing.T) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			validatePipeline(t, "as in git", b)
			for name, static := range varsFiles(t, root, p) {
				c := validatePipeline(t, "with "+name, evaluate(t, b, static))
				if len(c.Groups) == 0 {
					t.Errorf("no groups")
				}
			}
		})
	}
}

// taskFile loads a task file strictly into atc.TaskConfig and validates it.
func taskFile(t *testing.T, path string) atc.TaskConfig {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := atc.NewTaskConfig(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tc
}

// inRepo maps a path under the repository input (diego/x) to the checkout.
func inRepo(t *testing.T, root, what, p string) string {
	t.Helper()
	rest, ok := strings.CutPrefix(p, repoInput+"/")
	if !ok {
		t.Errorf("%s %q is not under the %s input", what, p, repoInput)
		return ""
	}
	return filepath.Join(root, rest)
}

// TestTaskFiles: every ci/tasks/*.yml is a valid task config with an image,
// declares the repository input, and its run.path is an executable script
// of the repository; every ci/scripts/*.sh but lib.sh is some task's.
func TestTaskFiles(t *testing.T) {
	root := repoRoot(t)
	used := map[string]bool{}
	for _, f := range globYAML(t, filepath.Join(root, "ci", "tasks", "*.yml")) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			tc := taskFile(t, f)
			if tc.ImageResource == nil || tc.ImageResource.Type == "" {
				t.Errorf("no image_resource")
			}
			if !slices.ContainsFunc(tc.Inputs, func(i atc.TaskInputConfig) bool { return i.Name == repoInput && !i.Optional }) {
				t.Errorf("does not take the %s input", repoInput)
			}
			script := inRepo(t, root, "run.path", tc.Run.Path)
			if script == "" {
				return
			}
			st, err := os.Stat(script)
			if err != nil {
				t.Fatalf("run.path: %v", err)
			}
			if st.Mode()&0o111 == 0 {
				t.Errorf("run.path %s is not executable", tc.Run.Path)
			}
			used[filepath.Base(script)] = true
			checkFileParams(t, root, "default params", tc.Params)
		})
	}
	for _, s := range globYAML(t, filepath.Join(root, "ci", "scripts", "*.sh")) {
		if b := filepath.Base(s); b != "lib.sh" && !used[b] {
			t.Errorf("ci/scripts/%s is no task's run.path", b)
		}
	}
}

// splitList is ci/scripts/lib.sh's split_list: a whitespace/comma separated
// list or a JSON list (what Concourse makes of a YAML list param).
func splitList(v string) []string {
	v = strings.NewReplacer("[", " ", "]", " ", `"`, " ", "'", " ", ",", " ").Replace(v)
	return strings.Fields(v)
}

var unresolved = regexp.MustCompile(`\(\([^)]*\)\)`)

// checkFileParams: every file OPS_FILES / VARS_FILES names exists in the
// repository (credentials, ../env/ files of an operator's input and
// absolute paths are not checked).
func checkFileParams(t *testing.T, root, where string, params atc.TaskEnv) {
	t.Helper()
	for _, k := range listParams {
		for _, f := range splitList(params[k]) {
			if unresolved.MatchString(f) || strings.HasPrefix(f, "../") || filepath.IsAbs(f) {
				continue
			}
			if _, err := os.Stat(filepath.Join(root, f)); err != nil {
				t.Errorf("%s: %s names %s, which does not exist", where, k, f)
			}
		}
	}
}

type taskUse struct {
	job  string
	step *atc.TaskStep
	tc   atc.TaskConfig
}

// pipelineTasks walks a pipeline's jobs: task files and set_pipeline files
// exist in the repository, every task param is one the task file declares,
// every required input of a task is a get or an earlier output of its job.
func pipelineTasks(t *testing.T, root string, c atc.Config) []taskUse {
	t.Helper()
	var uses []taskUse
	for _, job := range c.Jobs {
		artifacts := map[string]bool{}
		err := job.StepConfig().Visit(atc.StepRecursor{
			OnGet: func(s *atc.GetStep) error { artifacts[s.Name] = true; return nil },
			OnPut: func(*atc.PutStep) error { return nil },
			OnSetPipeline: func(s *atc.SetPipelineStep) error {
				for _, f := range append([]string{s.File}, s.VarFiles...) {
					if p := inRepo(t, root, "set_pipeline file", f); p != "" {
						if _, err := os.Stat(p); err != nil {
							t.Errorf("job %s: set_pipeline: %v", job.Name, err)
						}
					}
				}
				return nil
			},
			OnTask: func(s *atc.TaskStep) error {
				where := fmt.Sprintf("job %s task %s", job.Name, s.Name)
				if s.ConfigPath == "" {
					t.Errorf("%s: inline config; use a ci/tasks file", where)
					return nil
				}
				p := inRepo(t, root, where+" file", s.ConfigPath)
				if p == "" {
					return nil
				}
				tc := taskFile(t, p)
				for k := range s.Params {
					if _, ok := tc.Params[k]; !ok {
						t.Errorf("%s: param %s is not declared in %s", where, k, s.ConfigPath)
					}
				}
				for _, in := range tc.Inputs {
					name := in.Name
					if m, ok := s.InputMapping[name]; ok {
						name = m
					}
					if !in.Optional && !artifacts[name] {
						t.Errorf("%s: input %s (%s) is not fetched before it", where, in.Name, name)
					}
				}
				for _, out := range tc.Outputs {
					name := out.Name
					if m, ok := s.OutputMapping[name]; ok {
						name = m
					}
					artifacts[name] = true
				}
				checkFileParams(t, root, where, s.Params)
				uses = append(uses, taskUse{job.Name, s, tc})
				return nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return uses
}

// TestPipelineTasksAndFiles: the task files, scripts, ops-files and vars
// files each pipeline names (with its vars file applied) exist and fit.
func TestPipelineTasksAndFiles(t *testing.T) {
	root := repoRoot(t)
	for _, p := range globYAML(t, filepath.Join(root, "pipelines", "*.yml")) {
		for name, c := range evaluated(t, root, p) {
			t.Run(filepath.Base(p)+"/"+name, func(t *testing.T) {
				if len(pipelineTasks(t, root, c)) == 0 {
					t.Errorf("no tasks")
				}
			})
		}
	}
}

// TestPipelineDeploysInterpolate: every deploy and key rotation step of every
// pipeline, run as its script with INTERPOLATE_ONLY=true and the real bosh
// CLI (bin/bosh, make bosh): the ops-files and vars files interpolate with
// the base manifest into a manifest named DEPLOYMENT_NAME.
func TestPipelineDeploysInterpolate(t *testing.T) {
	root := repoRoot(t)
	bosh := filepath.Join(root, "bin", "bosh")
	if _, err := os.Stat(bosh); err != nil {
		t.Fatalf("needs the bosh CLI: run make bosh (%v)", err)
	}
	n := 0
	for _, p := range globYAML(t, filepath.Join(root, "pipelines", "*.yml")) {
		for name, c := range evaluated(t, root, p) {
			for _, u := range pipelineTasks(t, root, c) {
				script := filepath.Base(u.tc.Run.Path)
				if script != "bosh-deploy.sh" && script != "rotate-key.sh" {
					continue
				}
				n++
				t.Run(filepath.Base(p)+"/"+name+"/"+u.job, func(t *testing.T) {
					env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
						"REPO_DIR=" + root, "BOSH_CLI=" + bosh, "INTERPOLATE_ONLY=true"}
					params := map[string]string{}
					for k, v := range u.tc.Params {
						params[k] = v
					}
					for k, v := range u.step.Params {
						params[k] = v
					}
					keys := make([]string, 0, len(params))
					for k := range params {
						keys = append(keys, k)
					}
					sort.Strings(keys)
					// As Concourse does: every declared param is set, the empty
					// ones to "". Credentials ((...)) are set empty too: they
					// are not needed to interpolate.
					for _, k := range keys {
						v := params[k]
						switch {
						case k == "INTERPOLATE_ONLY":
							continue
						case strings.HasPrefix(k, "BOSH_") || strings.HasPrefix(k, "VAULT_") || strings.HasPrefix(k, "BBS_ADMIN_"):
							v = ""
						case unresolved.MatchString(v):
							t.Fatalf("%s=%s is not resolved by the pipeline's vars file", k, v)
						}
						env = append(env, k+"="+v)
					}
					cmd := exec.Command("bash", filepath.Join(root, "ci", "scripts", script))
					cmd.Dir = t.TempDir()
					cmd.Env = env
					var stderr bytes.Buffer
					cmd.Stderr = &stderr
					out, err := cmd.Output()
					if err != nil {
						t.Fatalf("%s: %v\n%s", script, err, stderr.String())
					}
					if want := "name: " + params["DEPLOYMENT_NAME"] + "\n"; !bytes.Contains(out, []byte(want)) {
						t.Errorf("the interpolated manifest has no %q", want)
					}
				})
			}
		}
	}
	if n == 0 {
		t.Fatal("no deploy steps")
	}
}
