package concourse

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/concourse/concourse/atc"
	"sigs.k8s.io/yaml"

	"github.com/diego-go/diego/tools/concourse/localpipeline"
)

// localPath is the path ci/local/concourse-pipeline.sh runs on the local
// Concourse.
var localPath = []string{"create-release", "deploy-staging", "acceptance-staging"}

// TestLocalPipeline: the local form of deploy-diego.yml (with its local
// vars file) is a valid pipeline, runs the same task scripts with the same
// params, and declares no resource or image a houdini worker lacks.
func TestLocalPipeline(t *testing.T) {
	root := repoRoot(t)
	src := filepath.Join(root, "pipelines", "deploy-diego.yml")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	out, err := localpipeline.Derive(b, localpipeline.Options{Jobs: localPath, Repo: root, GitURI: root,
		GitRef: "HEAD", BucketDir: "/tmp/bucket", Env: map[string]string{"PATH": "/usr/bin:/bin", "BOSH_CLI": "/x/bosh-local"}})
	if err != nil {
		t.Fatal(err)
	}
	static := varsFiles(t, root, src)["deploy-diego-local.yml"]
	if static == nil {
		t.Fatal("no ci/vars/pipelines/deploy-diego-local.yml")
	}
	c := validatePipeline(t, "local form", evaluate(t, out, static))
	if len(c.Resources) != 0 || len(c.ResourceTypes) != 0 {
		t.Errorf("the local form declares resources: %v %v", c.Resources, c.ResourceTypes)
	}
	var names []string
	scripts := map[string]map[string]string{} // run.path -> params
	for _, j := range c.Jobs {
		names = append(names, j.Name)
		_ = j.StepConfig().Visit(visitor(func(task *atc.TaskStep) {
			if task.ConfigPath != "" || task.Config == nil {
				t.Errorf("%s/%s: task not inlined", j.Name, task.Name)
				return
			}
			if task.Config.ImageResource != nil || task.ImageArtifactName != "" {
				t.Errorf("%s/%s: has an image", j.Name, task.Name)
			}
			if task.Config.Params["PATH"] == "" || task.Config.Params["BOSH_CLI"] == "" {
				t.Errorf("%s/%s: environment not added: %v", j.Name, task.Name, task.Config.Params)
			}
			p := map[string]string{}
			for k, v := range task.Params {
				p[k] = fmt.Sprint(v)
			}
			scripts[j.Name+" "+task.Config.Run.Path] = p
		}))
	}
	if strings.Join(names, ",") != strings.Join(localPath, ",") {
		t.Errorf("jobs %v, want %v", names, localPath)
	}
	for _, want := range []string{"create-release diego/ci/scripts/create-release.sh", "deploy-staging diego/ci/scripts/bosh-deploy.sh",
		"acceptance-staging diego/ci/scripts/run-errand.sh"} {
		if _, ok := scripts[want]; !ok {
			t.Errorf("no task runs %s; have %v", want, scripts)
		}
	}
	if p := scripts["deploy-staging diego/ci/scripts/bosh-deploy.sh"]; p["DEPLOYMENT_NAME"] != "diego-local-staging" {
		t.Errorf("deploy params not kept: %v", p)
	}
}

func TestLocalPipelineErrors(t *testing.T) {
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "pipelines", "deploy-diego.yml"))
	if err != nil {
		t.Fatal(err)
	}
	o := localpipeline.Options{Repo: root, GitURI: root, GitRef: "HEAD", BucketDir: "/tmp/b"}
	for _, c := range []struct {
		jobs []string
		want string
	}{
		{[]string{"set-self"}, "set_pipeline"},
		{[]string{"no-such-job"}, `no job "no-such-job"`},
		{nil, "required"},
	} {
		o.Jobs = c.jobs
		if _, err := localpipeline.Derive(b, o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("jobs %v: error %v, want %q", c.jobs, err, c.want)
		}
	}
	var p map[string]any
	if err := yaml.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	p["resources"].([]any)[0].(map[string]any)["type"] = "registry-image"
	b2, _ := yaml.Marshal(p)
	o.Jobs = []string{"create-release"}
	if _, err := localpipeline.Derive(b2, o); err == nil || !strings.Contains(err.Error(), `no local stand-in for resource type "registry-image"`) {
		t.Errorf("unknown resource type: %v", err)
	}
}

// visitor calls f for every task step.
type visitor func(*atc.TaskStep)

func (v visitor) VisitTask(s *atc.TaskStep) error             { v(s); return nil }
func (v visitor) VisitGet(*atc.GetStep) error                 { return nil }
func (v visitor) VisitPut(*atc.PutStep) error                 { return nil }
func (v visitor) VisitRun(*atc.RunStep) error                 { return nil }
func (v visitor) VisitSetPipeline(*atc.SetPipelineStep) error { return nil }
func (v visitor) VisitLoadVar(*atc.LoadVarStep) error         { return nil }
func (v visitor) VisitTry(s *atc.TryStep) error               { return s.Step.Config.Visit(v) }
func (v visitor) VisitDo(s *atc.DoStep) error                 { return visitAll(v, s.Steps) }
func (v visitor) VisitInParallel(s *atc.InParallelStep) error { return visitAll(v, s.Config.Steps) }
func (v visitor) VisitAcross(s *atc.AcrossStep) error         { return s.Step.Visit(v) }
func (v visitor) VisitTimeout(s *atc.TimeoutStep) error       { return s.Step.Visit(v) }
func (v visitor) VisitRetry(s *atc.RetryStep) error           { return s.Step.Visit(v) }
func (v visitor) VisitOnSuccess(s *atc.OnSuccessStep) error   { return s.Step.Visit(v) }
func (v visitor) VisitOnFailure(s *atc.OnFailureStep) error   { return s.Step.Visit(v) }
func (v visitor) VisitOnAbort(s *atc.OnAbortStep) error       { return s.Step.Visit(v) }
func (v visitor) VisitOnError(s *atc.OnErrorStep) error       { return s.Step.Visit(v) }
func (v visitor) VisitEnsure(s *atc.EnsureStep) error         { return s.Step.Visit(v) }

func visitAll(v visitor, steps []atc.Step) error {
	for _, s := range steps {
		if err := s.Config.Visit(v); err != nil {
			return err
		}
	}
	return nil
}
