package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cppforlife/go-patch/patch"
	"gopkg.in/yaml.v3"

	"github.com/diego-go/diego/tools/internal/boshrel"
)

// Packs come from the "pack" column of ops-files/README.md: core is the base
// manifest (its shape is set by the spec's other fields); a pack named in the
// spec applies every add-on (ops-files/addons/) of that pack, e.g.
// infrastructure = the security agents, monitoring = syslog forwarding and
// Prometheus. Single add-ons are named in `addons:`.
var packs = map[string]bool{"core": true, "infrastructure": true, "monitoring": true}

// databaseOps maps database.type to ops-files; the base manifest runs PostgreSQL.
var databaseOps = map[string][]string{
	"postgres": nil,
	"mysql":    {"ops-files/use-mysql.yml"},
	"external": {"ops-files/use-external-dbs.yml"},
}

const (
	renameOps   = "ops-files/rename-network-and-deployment.yml"
	scaleOps    = "ops-files/scale-cells.yml"
	oneAZOps    = "ops-files/scale-to-one-az.yml"
	boshLiteOps = "ops-files/bosh-lite.yml"
)

// Plan is what a spec turns into: the `bosh deploy` arguments.
type Plan struct {
	Spec      *Spec
	Manifest  string            // manifests/diego.yml (relative to the repository)
	OpsFiles  []string          // relative to the repository, in order
	VarsFiles []string          // -l, relative to the repository
	Vars      map[string]string // -v
	Generated []patch.OpDefinition
	// GeneratedPath is where the generated ops-file is written (and named in
	// the command); empty: the ops stay in memory.
	GeneratedPath string
}

// Generator turns specs into plans against one repository's release content.
type Generator struct {
	Repo string
	Jobs map[string]*boshrel.Job
}

func NewGenerator(repo string) (*Generator, error) {
	jobs, err := boshrel.ReadJobs(repo, boshrel.NewRenderer().FS)
	if err != nil {
		return nil, err
	}
	return &Generator{Repo: repo, Jobs: jobs}, nil
}

func (g *Generator) opsFile(rel string) error {
	if _, err := os.Stat(filepath.Join(g.Repo, rel)); err != nil {
		return fmt.Errorf("ops-file %s: %w", rel, err)
	}
	return nil
}

// Plan chooses the ops-files and vars for a spec, then derives the generated
// ops (deployment name, network, AZs, cell count and VM type, encryption
// keys) from the manifest those produce.
func (g *Generator) Plan(s *Spec) (*Plan, []byte, error) {
	p := &Plan{Spec: s, Manifest: "manifests/diego.yml", Vars: map[string]string{}}
	add := func(files ...string) error {
		for _, f := range files {
			if err := g.opsFile(f); err != nil {
				return err
			}
			p.OpsFiles = append(p.OpsFiles, f)
		}
		return nil
	}
	listed, err := boshrel.ReadOpsFileReadme(g.Repo)
	if err != nil && len(s.Packs)+len(s.AddOns) > 0 && !(len(s.Packs) == 1 && s.Packs[0] == "core" && len(s.AddOns) == 0) {
		return nil, nil, err
	}
	for _, pk := range s.Packs {
		if pk == "core" {
			continue
		}
		n := 0
		for _, of := range listed {
			if of.Pack == pk && strings.HasPrefix(of.Name, "addons/") {
				if err := add(filepath.Join("ops-files", of.Name)); err != nil {
					return nil, nil, fmt.Errorf("pack %s: %w", pk, err)
				}
				n++
			}
		}
		if n == 0 {
			return nil, nil, fmt.Errorf("pack %s: ops-files/README.md lists no add-on of that pack", pk)
		}
	}
	if s.Director == "bosh-lite" {
		if err := add(boshLiteOps); err != nil {
			return nil, nil, err
		}
	}
	if err := add(databaseOps[s.Database.Type]...); err != nil {
		return nil, nil, fmt.Errorf("database %s: %w", s.Database.Type, err)
	}
	if s.Database.Type == "external" {
		d := s.Database
		port := d.Port
		if port == 0 {
			port = map[string]int{"postgres": 5432, "mysql": 3306}[d.Driver]
		}
		name := d.Name
		if name == "" {
			name = "diego"
		}
		for k, v := range map[string]string{
			"external_database_type":           d.Driver,
			"external_database_port":           fmt.Sprint(port),
			"external_diego_database_address":  d.Host,
			"external_diego_database_name":     name,
			"external_diego_database_username": d.Username,
			"external_diego_database_password": d.Password,
		} {
			if v != "" && !boshrel.IsVariable(v) {
				p.Vars[k] = v
			}
		}
	}
	for _, a := range s.AddOns {
		f, err := g.addOn(a)
		if err != nil {
			return nil, nil, err
		}
		if !contains(p.OpsFiles, f) {
			p.OpsFiles = append(p.OpsFiles, f)
		}
	}
	if len(s.AZs) == 1 && s.AZs[0] == "z1" {
		if err := add(oneAZOps); err != nil {
			return nil, nil, err
		}
	}
	if s.Cells.Instances != nil || s.Cells.VMType != "" {
		if err := add(scaleOps); err != nil {
			return nil, nil, err
		}
	}
	if s.Deployment != "diego" || s.Network != "default" {
		if err := add(renameOps); err != nil {
			return nil, nil, err
		}
		p.Vars["deployment_name"] = s.Deployment
		p.Vars["network_name"] = s.Network
	}
	if err := add(s.OpsFiles...); err != nil {
		return nil, nil, err
	}
	for k, v := range s.Vars {
		p.Vars[k] = v
	}
	for _, f := range s.VarsFiles {
		if _, err := os.Stat(filepath.Join(g.Repo, f)); err != nil {
			return nil, nil, fmt.Errorf("vars file: %w", err)
		}
		p.VarsFiles = append(p.VarsFiles, f)
	}

	if contains(p.OpsFiles, scaleOps) {
		igs, err := g.baseInstanceGroups()
		if err != nil {
			return nil, nil, err
		}
		for _, ig := range igs {
			if hasJob(ig, "rep") {
				p.Vars["diego_cell_instances"] = fmt.Sprint(ig.Instances)
				p.Vars["diego_cell_vm_type"] = ig.VMType
				break
			}
		}
		if s.Cells.Instances != nil {
			p.Vars["diego_cell_instances"] = fmt.Sprint(*s.Cells.Instances)
		}
		if s.Cells.VMType != "" {
			p.Vars["diego_cell_vm_type"] = s.Cells.VMType
		}
	}

	// the manifest with the chosen ops-files, variables left as they are
	staged, err := g.evaluate(p, nil)
	if err != nil {
		return nil, nil, err
	}
	m, err := boshrel.ParseManifest(staged)
	if err != nil {
		return nil, nil, err
	}
	p.Generated = g.generatedOps(s, m)
	out, err := g.evaluate(p, p.Generated)
	if err != nil {
		return nil, nil, err
	}
	return p, out, nil
}

// addOn finds ops-files/addons/<name>.yml, or a README entry whose file name
// (without .yml) is name or enable-<name> / add-<name>.
func (g *Generator) addOn(name string) (string, error) {
	listed, err := boshrel.ReadOpsFileReadme(g.Repo)
	if err != nil {
		return "", err
	}
	var known []string
	for _, of := range listed {
		base := strings.TrimSuffix(filepath.Base(of.Name), ".yml")
		if strings.HasPrefix(of.Name, "addons/") {
			known = append(known, base)
		}
		for _, cand := range []string{name, "enable-" + name, "add-" + name, "enable-" + name + "-addon"} {
			if base == cand && strings.HasPrefix(of.Name, "addons/") {
				return filepath.Join("ops-files", of.Name), nil
			}
		}
	}
	return "", fmt.Errorf("unknown add-on %q (ops-files/README.md lists: %s)", name, strings.Join(known, ", "))
}

func (g *Generator) evaluate(p *Plan, extra []patch.OpDefinition) ([]byte, error) {
	in := boshrel.Interpolation{Manifest: filepath.Join(g.Repo, p.Manifest), Vars: p.Vars}
	for _, f := range p.OpsFiles {
		in.OpsFiles = append(in.OpsFiles, filepath.Join(g.Repo, f))
	}
	for _, f := range p.VarsFiles {
		in.VarsFiles = append(in.VarsFiles, filepath.Join(g.Repo, f))
	}
	if len(extra) > 0 {
		tmp, err := os.CreateTemp("", "diego-manifest-ops-*.yml")
		if err != nil {
			return nil, err
		}
		defer os.Remove(tmp.Name())
		b, err := yaml.Marshal(opsYAML(extra))
		if err != nil {
			return nil, err
		}
		tmp.Write(b)
		tmp.Close()
		in.OpsFiles = append(in.OpsFiles, tmp.Name())
	}
	return boshrel.Interpolate(in)
}

// generatedOps sets what the spec says on the manifest the ops-files made:
// the deployment name, every instance group's network and AZs, the cells'
// count and VM type (the instance groups running rep), and the BBS's
// encryption keys.
func (g *Generator) generatedOps(s *Spec, m *boshrel.Manifest) []patch.OpDefinition {
	var ops []patch.OpDefinition
	set := func(path string, v interface{}) {
		p := path
		ops = append(ops, patch.OpDefinition{Type: "replace", Path: &p, Value: &v})
	}
	if m.Name != s.Deployment {
		set("/name", s.Deployment)
	}
	// bosh-dns-aliases targets name the deployment and network
	for _, a := range m.Addons {
		for _, j := range a.Jobs {
			aliases, _ := j.Properties["aliases"].([]interface{})
			for i, al := range aliases {
				alm, _ := al.(map[interface{}]interface{})
				targets, _ := alm["targets"].([]interface{})
				for k, tg := range targets {
					tm, _ := tg.(map[interface{}]interface{})
					base := fmt.Sprintf("/addons/name=%s/jobs/name=%s/properties/aliases/%d/targets/%d", a.Name, j.Name, i, k)
					if d, ok := tm["deployment"]; ok && d != s.Deployment {
						set(base+"/deployment", s.Deployment)
					}
					if n, ok := tm["network"]; ok && n != s.Network {
						set(base+"/network", s.Network)
					}
				}
			}
		}
	}
	for _, ig := range m.InstanceGroups {
		base := "/instance_groups/name=" + ig.Name
		for i, n := range ig.Networks {
			if n["name"] != s.Network {
				set(fmt.Sprintf("%s/networks/%d/name", base, i), s.Network)
			}
		}
		if len(s.AZs) > 0 && !sameList(ig.AZs, s.AZs) {
			set(base+"/azs", s.AZs)
		}
		if hasJob(ig, "rep") {
			// scale-cells.yml covers the cell group named diego-cell; another
			// group running rep (an ops-file's) is set here
			if s.Cells.Instances != nil && ig.Instances != *s.Cells.Instances {
				set(base+"/instances", *s.Cells.Instances)
			}
			if s.Cells.VMType != "" && ig.VMType != s.Cells.VMType {
				set(base+"/vm_type", s.Cells.VMType)
			}
		}
		if hasJob(ig, "bbs") && len(s.Keys.Labels) > 0 {
			var keys []interface{}
			for _, l := range s.Keys.Labels {
				keys = append(keys, map[string]interface{}{"label": l, "passphrase": g.keyVar(s, l)})
			}
			active := s.Keys.Active
			if active == "" {
				active = s.Keys.Labels[0]
			}
			jp := base + "/jobs/name=bbs/properties/diego/bbs"
			set(jp+"/encryption_keys", keys)
			set(jp+"/active_key_label", active)
		}
	}
	if s.Keys.Source == "manifest" {
		for _, l := range s.Keys.Labels {
			name := keyVarName(l)
			if hasVariable(m, name) {
				continue
			}
			v := map[string]interface{}{"name": name, "type": "password"}
			p := "/variables/-"
			var val interface{} = v
			ops = append(ops, patch.OpDefinition{Type: "replace", Path: &p, Value: &val})
		}
	}
	return ops
}

func (g *Generator) keyVar(s *Spec, label string) string {
	if s.Keys.Source == "vault" {
		prefix := s.Keys.Mount
		if prefix == "" {
			prefix = "/diego/encryption-keys"
		}
		// An absolute variable name: the director's config server (backed by
		// Vault) resolves it; nothing is generated.
		return "((" + strings.TrimSuffix(prefix, "/") + "/" + keyVarName(label) + "))"
	}
	return "((" + keyVarName(label) + "))"
}

func keyVarName(label string) string {
	r := strings.NewReplacer(".", "_", "-", "_", "/", "_", " ", "_")
	return "diego_encryption_key_" + r.Replace(label)
}

func (g *Generator) baseInstanceGroups() ([]boshrel.InstanceGroup, error) {
	b, err := os.ReadFile(filepath.Join(g.Repo, "manifests", "diego.yml"))
	if err != nil {
		return nil, err
	}
	m, err := boshrel.ParseManifest(b)
	if err != nil {
		return nil, err
	}
	return m.InstanceGroups, nil
}

func sameList(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func hasJob(ig boshrel.InstanceGroup, name string) bool {
	for _, j := range ig.Jobs {
		if j.Name == name {
			return true
		}
	}
	return false
}

func hasVariable(m *boshrel.Manifest, name string) bool {
	for _, v := range m.Variables {
		if v["name"] == name {
			return true
		}
	}
	return false
}

// opsYAML renders operations as an ops-file (type, path, value).
func opsYAML(ops []patch.OpDefinition) []map[string]interface{} {
	var out []map[string]interface{}
	for _, op := range ops {
		e := map[string]interface{}{"type": op.Type, "path": *op.Path}
		if op.Value != nil {
			e["value"] = *op.Value
		}
		out = append(out, e)
	}
	return out
}

// Command is the equivalent `bosh deploy` command line.
func (p *Plan) Command() string {
	lines := []string{"bosh -d " + shellQuote(p.Spec.Deployment) + " deploy " + p.Manifest}
	for _, f := range p.OpsFiles {
		lines = append(lines, "-o "+shellQuote(f))
	}
	if p.GeneratedPath != "" && len(p.Generated) > 0 {
		lines = append(lines, "-o "+shellQuote(p.GeneratedPath))
	}
	for _, f := range p.VarsFiles {
		lines = append(lines, "-l "+shellQuote(f))
	}
	var keys []string
	for k := range p.Vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lines = append(lines, "-v "+shellQuote(k+"="+p.Vars[k]))
	}
	return strings.Join(lines, " \\\n  ")
}

func shellQuote(s string) string {
	if strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '/' || r == '=' || r == ':' || r == ',' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
