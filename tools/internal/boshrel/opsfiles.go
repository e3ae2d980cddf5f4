package boshrel

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// OpsFile is one row of ops-files/README.md's table.
type OpsFile struct {
	Name     string // path relative to ops-files/, e.g. "use-postgres.yml" or "addons/enable-syslog.yml"
	Path     string // absolute path
	VarsFile string // ops-files/example-vars-files/vars-<name>.yml when it exists, else ""
	Pack     string // the row's "pack" column (core, infrastructure, monitoring), if the table has one
	Row      string // the README row, for messages
}

var ymlName = regexp.MustCompile("[A-Za-z0-9_./-]+\\.yml")

// ReadOpsFileReadme lists the ops-files named in the first column of the
// markdown table(s) of ops-files/README.md, in README order.
func ReadOpsFileReadme(repo string) ([]OpsFile, error) {
	dir := filepath.Join(repo, "ops-files")
	f, err := os.Open(filepath.Join(dir, "README.md"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []OpsFile
	seen := map[string]bool{}
	packCol := -1
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			packCol = -1
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) == 0 {
			continue
		}
		first := cells[0]
		// a link's target or the name in backticks
		m := ymlName.FindAllString(first, -1)
		if len(m) == 0 { // header or separator
			for i, c := range cells {
				if strings.EqualFold(strings.TrimSpace(c), "pack") {
					packCol = i
				}
			}
			continue
		}
		name := strings.TrimPrefix(strings.TrimPrefix(m[len(m)-1], "./"), "ops-files/")
		if seen[name] {
			return nil, fmt.Errorf("ops-files/README.md lists %s twice", name)
		}
		seen[name] = true
		of := OpsFile{Name: name, Path: filepath.Join(dir, name), Row: line}
		if packCol >= 0 && packCol < len(cells) {
			of.Pack = strings.Trim(strings.TrimSpace(cells[packCol]), "`*")
		}
		base := strings.TrimSuffix(filepath.Base(name), ".yml")
		vf := filepath.Join(dir, "example-vars-files", "vars-"+base+".yml")
		if _, err := os.Stat(vf); err == nil {
			of.VarsFile = vf
		}
		out = append(out, of)
	}
	return out, sc.Err()
}

// OpsFilesOnDisk lists every .yml under ops-files/ except the example vars
// files, relative to ops-files/.
func OpsFilesOnDisk(repo string) ([]string, error) {
	dir := filepath.Join(repo, "ops-files")
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel == "example-vars-files" {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml") {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// ExampleVarsFiles lists ops-files/example-vars-files/*.yml (relative names).
func ExampleVarsFiles(repo string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(repo, "ops-files", "example-vars-files", "*.yml"))
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m, err
}
