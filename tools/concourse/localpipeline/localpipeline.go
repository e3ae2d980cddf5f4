// Package localpipeline derives, from a pipeline of pipelines/, the
// pipeline a local Concourse with the houdini runtime can run: no container
// images and no resource types exist there, so resources become tasks that
// get the same inputs from this machine (a git resource: a clone of a local
// repository at a fixed commit; an s3 resource: a directory standing in for
// the bucket; a time resource: nothing, it only triggers), task files are
// inlined without their image_resource, and every task gets the environment
// houdini does not give (PATH, HOME). Task steps keep their params,
// input/output mappings and scripts: what runs is the pipeline's own tasks.
// Without resources, jobs do not trigger each other; the caller triggers
// them in order (ci/local/concourse-pipeline.sh).
package localpipeline

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Options of Derive.
type Options struct {
	// Jobs are the jobs to keep, in the order they are to run.
	Jobs []string
	// Repo is the checkout task files are read from (FILE in
	// `file: INPUT/FILE`).
	Repo string
	// GitURI and GitRef: every git resource is this repository at this
	// commit.
	GitURI, GitRef string
	// BucketDir stands in for every s3 bucket.
	BucketDir string
	// Env is added to every task's params (without overriding a param the
	// task or step sets).
	Env map[string]string
}

type obj = map[string]any

// Derive returns the local pipeline (YAML).
func Derive(pipeline []byte, o Options) ([]byte, error) {
	if len(o.Jobs) == 0 || o.Repo == "" || o.GitURI == "" || o.GitRef == "" || o.BucketDir == "" {
		return nil, fmt.Errorf("localpipeline: Jobs, Repo, GitURI, GitRef and BucketDir are required")
	}
	var p obj
	if err := yaml.Unmarshal(pipeline, &p); err != nil {
		return nil, fmt.Errorf("parsing the pipeline: %w", err)
	}
	resources := map[string]obj{}
	for _, r := range list(p["resources"]) {
		if m, ok := r.(obj); ok {
			resources[str(m["name"])] = m
		}
	}
	byName := map[string]obj{}
	for _, j := range list(p["jobs"]) {
		if m, ok := j.(obj); ok {
			byName[str(m["name"])] = m
		}
	}
	d := &deriver{o: o, resources: resources}
	var jobs []any
	for _, name := range o.Jobs {
		j, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("the pipeline has no job %q", name)
		}
		out := obj{"name": name}
		for _, k := range []string{"serial", "serial_groups", "max_in_flight", "build_log_retention", "public"} {
			if v, ok := j[k]; ok {
				out[k] = v
			}
		}
		plan, err := d.steps(list(j["plan"]))
		if err != nil {
			return nil, fmt.Errorf("job %s: %w", name, err)
		}
		if len(plan) == 0 {
			return nil, fmt.Errorf("job %s: nothing left to run locally", name)
		}
		out["plan"] = plan
		jobs = append(jobs, out)
	}
	return yaml.Marshal(obj{"jobs": jobs})
}

type deriver struct {
	o         Options
	resources map[string]obj
}

func (d *deriver) steps(in []any) ([]any, error) {
	var out []any
	for _, s := range in {
		m, ok := s.(obj)
		if !ok {
			return nil, fmt.Errorf("a step is not a map: %v", s)
		}
		st, err := d.step(m)
		if err != nil {
			return nil, err
		}
		if st != nil {
			out = append(out, st)
		}
	}
	return out, nil
}

// step converts one step; nil drops it.
func (d *deriver) step(s obj) (obj, error) {
	switch {
	case s["in_parallel"] != nil:
		var inner []any
		var rest obj
		switch v := s["in_parallel"].(type) {
		case []any:
			inner = v
		case obj:
			inner, rest = list(v["steps"]), v
		}
		steps, err := d.steps(inner)
		if err != nil || len(steps) == 0 {
			return nil, err
		}
		if rest != nil {
			cp := obj{}
			for k, v := range rest {
				cp[k] = v
			}
			cp["steps"] = steps
			return obj{"in_parallel": cp}, nil
		}
		return obj{"in_parallel": steps}, nil
	case s["do"] != nil:
		steps, err := d.steps(list(s["do"]))
		if err != nil || len(steps) == 0 {
			return nil, err
		}
		return obj{"do": steps}, nil
	case s["get"] != nil:
		return d.get(s)
	case s["put"] != nil:
		return d.put(s)
	case s["task"] != nil:
		return d.task(s)
	case s["set_pipeline"] != nil:
		return nil, fmt.Errorf("set_pipeline %v cannot run locally (the local pipeline is set by fly)", s["set_pipeline"])
	}
	return nil, fmt.Errorf("no local form for the step %v", keys(s))
}

func (d *deriver) resource(s obj, key string) (string, obj, error) {
	name := str(s[key])
	rname := name
	if r := str(s["resource"]); r != "" {
		rname = r
	}
	r, ok := d.resources[rname]
	if !ok {
		return "", nil, fmt.Errorf("%s %s: no such resource", key, rname)
	}
	return name, r, nil
}

func (d *deriver) get(s obj) (obj, error) {
	name, r, err := d.resource(s, "get")
	if err != nil {
		return nil, err
	}
	switch t := str(r["type"]); t {
	case "time":
		return nil, nil // only triggers
	case "git":
		script := `git -c safe.directory='*' clone -q "$GIT_URI" "$OUT"
cd "$OUT"
git -c safe.directory='*' checkout -q "$GIT_REF"
echo "$OUT: $(git -c safe.directory='*' log -1 --format='%h %s') (local stand-in for the git resource)"`
		return d.shellTask("get-"+name, nil, []string{name}, obj{"GIT_URI": d.o.GitURI, "GIT_REF": d.o.GitRef, "OUT": name}, script), nil
	case "s3":
		glob, err := s3Glob(r)
		if err != nil {
			return nil, err
		}
		script := `f="$(ls -t "$BUCKET"/$GLOB 2>/dev/null | head -1)"
[ -n "$f" ] || { echo "nothing matches $BUCKET/$GLOB: run the job that puts it first" >&2; exit 1; }
cp "$f" "$OUT/"
echo "$OUT: $(basename "$f") (local stand-in for the s3 resource: $BUCKET)"`
		return d.shellTask("get-"+name, nil, []string{name}, obj{"BUCKET": d.o.BucketDir, "GLOB": glob, "OUT": name}, script), nil
	default:
		return nil, fmt.Errorf("get %s: no local stand-in for resource type %q", name, t)
	}
}

func (d *deriver) put(s obj) (obj, error) {
	name, r, err := d.resource(s, "put")
	if err != nil {
		return nil, err
	}
	if t := str(r["type"]); t != "s3" {
		return nil, fmt.Errorf("put %s: no local stand-in for resource type %q", name, t)
	}
	params, _ := s["params"].(obj)
	file := str(params["file"])
	if file == "" || !strings.Contains(file, "/") {
		return nil, fmt.Errorf("put %s: params.file must be INPUT/GLOB, got %q", name, file)
	}
	input := strings.SplitN(file, "/", 2)[0]
	script := `mkdir -p "$BUCKET"
set -- $FILE
[ -f "$1" ] || { echo "put: nothing matches $FILE" >&2; exit 1; }
for f in "$@"; do cp "$f" "$BUCKET/"; echo "put $(basename "$f") into $BUCKET (local stand-in for the s3 resource)"; done`
	return d.shellTask("put-"+name, []string{input}, nil, obj{"BUCKET": d.o.BucketDir, "FILE": file}, script), nil
}

// s3Glob turns the resource's regexp (DIR/NAME-(.*).tgz) into a file glob.
func s3Glob(r obj) (string, error) {
	src, _ := r["source"].(obj)
	re := str(src["regexp"])
	base := path.Base(re)
	if _, err := regexp.Compile(re); err != nil || !strings.Contains(base, "(.*)") {
		return "", fmt.Errorf("s3 resource %s: regexp %q: want DIR/NAME-(.*).EXT", str(r["name"]), re)
	}
	g := strings.ReplaceAll(base, "(.*)", "*")
	g = strings.ReplaceAll(g, `\.`, ".")
	return g, nil
}

func (d *deriver) shellTask(name string, inputs, outputs []string, params obj, script string) obj {
	cfg := obj{"platform": "linux", "run": obj{"path": "bash", "args": []any{"-ec", script}}}
	if len(inputs) > 0 {
		cfg["inputs"] = names(inputs)
	}
	if len(outputs) > 0 {
		cfg["outputs"] = names(outputs)
	}
	cfg["params"] = d.withEnv(params)
	return obj{"task": name, "config": cfg}
}

func names(ns []string) []any {
	var out []any
	for _, n := range ns {
		out = append(out, obj{"name": n})
	}
	return out
}

func (d *deriver) withEnv(params obj) obj {
	out := obj{}
	for k, v := range d.o.Env {
		out[k] = v
	}
	for k, v := range params {
		out[k] = v
	}
	return out
}

// task inlines `file: INPUT/PATH` from the repository, without its
// image_resource; the step's own params, mappings and the like stay.
func (d *deriver) task(s obj) (obj, error) {
	out := obj{}
	for k, v := range s {
		out[k] = v
	}
	var cfg obj
	if f := str(s["file"]); f != "" {
		_, rel, ok := strings.Cut(f, "/")
		if !ok {
			return nil, fmt.Errorf("task %s: file %q is not INPUT/PATH", str(s["task"]), f)
		}
		b, err := os.ReadFile(filepath.Join(d.o.Repo, filepath.FromSlash(rel)))
		if err != nil {
			return nil, fmt.Errorf("task %s: %w", str(s["task"]), err)
		}
		if err := yaml.Unmarshal(b, &cfg); err != nil {
			return nil, fmt.Errorf("task %s: %s: %w", str(s["task"]), f, err)
		}
		delete(out, "file")
	} else if c, ok := s["config"].(obj); ok {
		cfg = c
	} else {
		return nil, fmt.Errorf("task %s has neither file nor config", str(s["task"]))
	}
	delete(cfg, "image_resource")
	delete(out, "image")
	params, _ := cfg["params"].(obj)
	cfg["params"] = d.withEnv(params)
	out["config"] = cfg
	return out, nil
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func keys(m obj) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return slices.Clip(ks)
}
