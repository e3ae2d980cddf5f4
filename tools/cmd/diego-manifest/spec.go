package main

import (
	"bytes"
	"fmt"
	"os"
	"regexp"

	"gopkg.in/yaml.v3"
)

// Spec is the short description of a deployment that `diego-manifest
// generate` turns into manifests/diego.yml plus ops-files and vars.
type Spec struct {
	Deployment string   `yaml:"deployment"` // deployment name (default diego)
	Network    string   `yaml:"network"`    // network name (default default)
	Director   string   `yaml:"director"`   // "" or bosh-lite (ops-files/bosh-lite.yml)
	AZs        []string `yaml:"azs"`        // availability zones of every instance group
	Cells      struct {
		Instances *int   `yaml:"instances"`
		VMType    string `yaml:"vm_type"`
	} `yaml:"cells"`
	Database struct {
		Type string `yaml:"type"` // postgres | mysql | external
		// external only
		Driver   string `yaml:"driver"` // postgres | mysql
		Host     string `yaml:"host"`
		Port     int    `yaml:"port"`
		Name     string `yaml:"name"`
		Username string `yaml:"username"`
		Password string `yaml:"password"` // usually a ((variable))
		CACert   string `yaml:"ca_cert"`
	} `yaml:"database"`
	Packs  []string `yaml:"packs"`  // core, infrastructure, monitoring
	AddOns []string `yaml:"addons"` // add-on names (ops-files/addons/)
	Keys   struct {
		Source string   `yaml:"type"`   // manifest | vault
		Labels []string `yaml:"labels"` // encryption key labels, the first is active unless active is set
		Active string   `yaml:"active"`
		Mount  string   `yaml:"vault_path"` // vault: the variable path prefix (default /diego/encryption-keys)
	} `yaml:"keys"`
	// Vars files (-l; paths relative to the repository), e.g.
	// manifests/example-vars-files/vars-diego.yml for the upstream releases.
	VarsFiles []string `yaml:"vars_files"`
	// Extra ops-files (paths relative to the repository) and vars, applied last.
	OpsFiles []string          `yaml:"ops_files"`
	Vars     map[string]string `yaml:"vars"`
}

// ReadSpec parses a spec strictly: unknown fields are errors.
func ReadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseSpec(b)
}

func ParseSpec(b []byte) (*Spec, error) {
	var s Spec
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	if s.Deployment == "" {
		s.Deployment = "diego"
	}
	if s.Network == "" {
		s.Network = "default"
	}
	if s.Database.Type == "" {
		s.Database.Type = "postgres"
	}
	if len(s.Packs) == 0 {
		s.Packs = []string{"core"}
	}
	if s.Keys.Source == "" {
		s.Keys.Source = "manifest"
	}
	return &s, s.check()
}

var labelRE = regexp.MustCompile(`^[^:]{1,127}$`)
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// varNameRE is what BOSH's ((name)) interpolation can refer to.
var varNameRE = regexp.MustCompile(`^[-/.\w\pL]+$`)

func (s *Spec) check() error {
	if !nameRE.MatchString(s.Deployment) {
		return fmt.Errorf("spec: deployment %q: lower-case letters, digits, - _ . only", s.Deployment)
	}
	switch s.Database.Type {
	case "postgres", "mysql":
	case "external":
		if s.Database.Driver != "postgres" && s.Database.Driver != "mysql" {
			return fmt.Errorf("spec: database.driver must be postgres or mysql for an external database, not %q", s.Database.Driver)
		}
		if s.Database.Host == "" {
			return fmt.Errorf("spec: database.host is required for an external database")
		}
	default:
		return fmt.Errorf("spec: database.type must be postgres, mysql or external, not %q", s.Database.Type)
	}
	if s.Cells.Instances != nil && *s.Cells.Instances < 0 {
		return fmt.Errorf("spec: cells.instances must not be negative")
	}
	for _, p := range s.Packs {
		if _, ok := packs[p]; !ok {
			return fmt.Errorf("spec: unknown pack %q (known: core, infrastructure, monitoring)", p)
		}
	}
	if s.Director != "" && s.Director != "bosh-lite" {
		return fmt.Errorf("spec: director must be empty or bosh-lite, not %q", s.Director)
	}
	switch s.Keys.Source {
	case "manifest", "vault":
	default:
		return fmt.Errorf("spec: keys.type must be manifest or vault, not %q", s.Keys.Source)
	}
	seen := map[string]bool{}
	for _, l := range s.Keys.Labels {
		if !labelRE.MatchString(l) {
			return fmt.Errorf("spec: key label %q: 1-127 bytes without ':'", l)
		}
		if seen[l] {
			return fmt.Errorf("spec: key label %q appears twice", l)
		}
		seen[l] = true
	}
	for k := range s.Vars {
		if !varNameRE.MatchString(k) {
			return fmt.Errorf("spec: vars: %q is not a BOSH variable name (letters, digits, _ - . / only)", k)
		}
	}
	if s.Keys.Active != "" && !seen[s.Keys.Active] {
		return fmt.Errorf("spec: keys.active %q is not one of keys.labels", s.Keys.Active)
	}
	return nil
}
