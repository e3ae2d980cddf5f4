package boshrel

import (
	"fmt"

	biproperty "github.com/cloudfoundry/bosh-utils/property"
	"gopkg.in/yaml.v2"
)

// Manifest is the part of a deployment manifest the tests and the generator read.
type Manifest struct {
	Name           string                      `yaml:"name"`
	Releases       []map[string]interface{}    `yaml:"releases"`
	InstanceGroups []InstanceGroup             `yaml:"instance_groups"`
	Properties     map[interface{}]interface{} `yaml:"properties"`
	Variables      []map[string]interface{}    `yaml:"variables"`
	Addons         []Addon                     `yaml:"addons"`
}

type Addon struct {
	Name string   `yaml:"name"`
	Jobs []JobRef `yaml:"jobs"`
}

type InstanceGroup struct {
	Name       string                      `yaml:"name"`
	Instances  int                         `yaml:"instances"`
	AZs        []string                    `yaml:"azs"`
	VMType     string                      `yaml:"vm_type"`
	Networks   []map[string]interface{}    `yaml:"networks"`
	Jobs       []JobRef                    `yaml:"jobs"`
	Properties map[interface{}]interface{} `yaml:"properties"`
}

type JobRef struct {
	Name       string                      `yaml:"name"`
	Release    string                      `yaml:"release"`
	Properties map[interface{}]interface{} `yaml:"properties"`
}

func ParseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parsing manifest: %w", err)
	}
	return &m, nil
}

// PropertyMap converts YAML properties to the bosh CLI's property map.
func PropertyMap(raw map[interface{}]interface{}) (biproperty.Map, error) {
	if raw == nil {
		return biproperty.Map{}, nil
	}
	return biproperty.BuildMap(raw)
}
