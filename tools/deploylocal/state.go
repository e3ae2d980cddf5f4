package deploylocal

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// State is ROOT/deployment.json.
type State struct {
	Pid       int         `json:"pid"` // the process that ran up and supervises
	Root      string      `json:"root"`
	Bridge    string      `json:"bridge"`
	Gateway   string      `json:"gateway"`
	Forward   string      `json:"forward,omitempty"`
	NATS      string      `json:"nats,omitempty"` // the embedded NATS server's address
	Instances []*Instance `json:"instances"`
}

// Instance is one instance of an instance group.
type Instance struct {
	Group   string      `json:"group"`
	Index   int         `json:"index"`
	ID      string      `json:"id"`
	AZ      string      `json:"az"`
	IP      string      `json:"ip"`
	Netns   string      `json:"netns"`
	Veth    string      `json:"veth"`
	Root    string      `json:"root"` // bind-mounted on /var/vcap inside
	Jobs    []*JobState `json:"jobs"`
	Skipped []string    `json:"skipped,omitempty"` // jobs of other releases
	Stopped bool        `json:"stopped,omitempty"`
}

// JobState is one rendered job of an instance.
type JobState struct {
	Name      string     `json:"name"`
	Dir       string     `json:"dir"` // on the host
	Errand    bool       `json:"errand,omitempty"`
	Processes []*Process `json:"processes,omitempty"`
}

// Process is one bpm process.
type Process struct {
	Name       string            `json:"name"`
	Executable string            `json:"executable"`
	Args       []string          `json:"args,omitempty"`
	Env        map[string]string `json:"env,omitempty"`
	Pid        int               `json:"pid"`
	Exited     string            `json:"exited,omitempty"`
}

// Name is GROUP/INDEX.
func (i *Instance) Name() string { return fmt.Sprintf("%s/%d", i.Group, i.Index) }

// Instance finds GROUP/INDEX (or GROUP: its first instance).
func (st *State) Instance(name string) (*Instance, error) {
	g, i, hasIndex := strings.Cut(name, "/")
	for _, inst := range st.Instances {
		if inst.Group == g && (!hasIndex || strconv.Itoa(inst.Index) == i) {
			return inst, nil
		}
	}
	return nil, fmt.Errorf("no instance %s", name)
}

// Load reads ROOT/deployment.json.
func Load(root string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(root, "deployment.json"))
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func (d *Deployment) save() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, err := json.MarshalIndent(d.State, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(d.State.Root, "deployment.json")
	if err := os.WriteFile(p+".tmp", b, 0o644); err != nil {
		return err
	}
	return os.Rename(p+".tmp", p)
}

func readBPM(path string) ([]*Process, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f struct {
		Processes []*Process `yaml:"processes"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("config/bpm.yml: %w", err)
	}
	for _, p := range f.Processes {
		if p.Name == "" || p.Executable == "" {
			return nil, fmt.Errorf("config/bpm.yml: a process without name or executable")
		}
	}
	return f.Processes, nil
}
