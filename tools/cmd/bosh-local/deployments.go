package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/diego-go/diego/tools/deploylocal"
)

func showManifest(dir string, o opts) error {
	ddir, err := deploymentDir(dir, o)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(ddir, "manifest.yml"))
	if err != nil {
		return &exitError{1, fmt.Sprintf("Deployment '%s' doesn't exist", o.deployment)}
	}
	_, err = os.Stdout.Write(b)
	return err
}

func loadRunning(dir string, o opts) (*deploylocal.State, error) {
	ddir, err := deploymentDir(dir, o)
	if err != nil {
		return nil, err
	}
	st, err := deploylocal.Load(filepath.Join(ddir, "root"))
	if err != nil {
		return nil, &exitError{1, fmt.Sprintf("Deployment '%s' doesn't exist", o.deployment)}
	}
	if s := readStatus(ddir); s != "running" {
		return nil, &exitError{1, fmt.Sprintf("deployment %s is not running (%s): deploy it again", o.deployment, s)}
	}
	return st, nil
}

func runErrand(dir string, o opts) error {
	vals, set, errand, err := oneArg(o.args, []string{"--instance", "--logs-dir"}, []string{"--keep-alive", "--download-logs", "--when-changed"},
		"usage: -d NAME run-errand ERRAND [--instance G/i] [--download-logs --logs-dir D]")
	if err != nil {
		return err
	}
	st, err := loadRunning(dir, o)
	if err != nil {
		return err
	}
	instance := ""
	if is := vals["--instance"]; len(is) > 0 {
		instance = strings.TrimSuffix(is[len(is)-1], "/first") // the group's first instance
	}
	fmt.Fprintf(os.Stderr, "bosh-local: running errand %s on %s\n", errand, or(instance, "the first instance with the job"))
	runErr := deploylocal.RunErrand(st, errand, instance, os.Stdout)
	if set["--download-logs"] && len(vals["--logs-dir"]) > 0 {
		for _, inst := range st.Instances {
			if instance == "" || inst.Group == instance || inst.Name() == instance {
				src := filepath.Join(inst.Root, "sys/log", errand)
				dst := filepath.Join(vals["--logs-dir"][0], strings.ReplaceAll(inst.Name(), "/", "-"))
				os.MkdirAll(dst, 0o755)
				exec.Command("cp", "-a", src+"/.", dst).Run()
			}
		}
	}
	var ee *exec.ExitError
	if errors.As(runErr, &ee) {
		return &exitError{1, fmt.Sprintf("errand %s failed (exit %d)", errand, ee.ExitCode())}
	}
	if runErr == nil {
		fmt.Fprintf(os.Stderr, "bosh-local: errand %s succeeded\n", errand)
	}
	return runErr
}

// or is s, or def when s is empty.
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func deleteDeployment(dir string, o opts) error {
	if _, _, _, err := cmdFlags(o.args, nil, []string{"--force"}); err != nil {
		return err
	}
	ddir, err := deploymentDir(dir, o)
	if err != nil {
		return err
	}
	unlock, err := lock(dir)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(ddir); err != nil {
		fmt.Printf("Deployment %s does not exist: nothing to delete\n", o.deployment)
		return nil
	}
	if _, err := deploylocal.Load(filepath.Join(ddir, "root")); err == nil {
		if err := deploylocal.Down(filepath.Join(ddir, "root"), 15*time.Minute); err != nil {
			return fmt.Errorf("stopping %s: %w", o.deployment, err)
		}
	}
	if err := os.RemoveAll(ddir); err != nil {
		return err
	}
	fmt.Printf("Deleted deployment %s\n", o.deployment)
	return nil
}

func listDeployments(dir string) error {
	ds, _ := filepath.Glob(filepath.Join(dir, "deployments", "*"))
	sort.Strings(ds)
	fmt.Printf("%-30s %s\n", "Name", "Status")
	for _, d := range ds {
		fmt.Printf("%-30s %s\n", filepath.Base(d), or(readStatus(d), "-"))
	}
	return nil
}

func instances(dir string, o opts) error {
	names := []string{o.deployment}
	if o.deployment == "" {
		ds, _ := filepath.Glob(filepath.Join(dir, "deployments", "*"))
		names = nil
		for _, d := range ds {
			names = append(names, filepath.Base(d))
		}
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for _, n := range names {
		st, err := deploylocal.Load(filepath.Join(dir, "deployments", n, "root"))
		if err != nil {
			continue
		}
		fmt.Fprintf(w, "Deployment '%s' (%s)\n", n, or(readStatus(filepath.Join(dir, "deployments", n)), "-"))
		for _, inst := range st.Instances {
			state := "running"
			if inst.Stopped || st.Pid == 0 {
				state = "stopped"
			}
			fmt.Fprintf(w, "  %s/%s\t%s\taz=%s\t%s\tindex=%s\n", inst.Group, inst.ID, state, inst.AZ, inst.IP, strconv.Itoa(inst.Index))
		}
	}
	return nil
}
