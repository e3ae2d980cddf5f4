package boshrel

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Problem is one validation finding about a job of ours in a manifest.
type Problem struct {
	Kind          string // "unknown property", "missing required property", "wrong type"
	InstanceGroup string
	Job           string
	Property      string
	Detail        string
}

func (p Problem) String() string {
	s := fmt.Sprintf("instance group %s, job %s: %s %s", p.InstanceGroup, p.Job, p.Kind, p.Property)
	if p.Detail != "" {
		s += " (" + p.Detail + ")"
	}
	return s
}

var wholeVar = regexp.MustCompile(`^\(\([!A-Za-z0-9_./:-]+\)\)$`)

// IsVariable reports whether v is a ((variable)) reference.
func IsVariable(v interface{}) bool {
	s, ok := v.(string)
	return ok && wholeVar.MatchString(strings.TrimSpace(s))
}

// Validate checks every job of ours (a name in jobs) in every instance group
// against its spec: properties the spec does not declare, properties the spec
// declares without a default that the manifest does not set, and values whose
// type differs from the default's. Jobs of other releases are skipped.
// ourRelease, when not empty, restricts the check to jobs of that release.
func Validate(m *Manifest, jobs map[string]*Job, ourRelease string) []Problem {
	var out []Problem
	for _, ig := range m.InstanceGroups {
		for _, ref := range ig.Jobs {
			job, ok := jobs[ref.Name]
			if !ok || (ourRelease != "" && ref.Release != ourRelease) {
				continue
			}
			out = append(out, validateJob(ig.Name, job, ref.Properties)...)
		}
	}
	return out
}

func validateJob(ig string, job *Job, props map[interface{}]interface{}) []Problem {
	var out []Problem
	spec := job.Spec.Properties
	isPrefix := func(p string) bool {
		for name := range spec {
			if strings.HasPrefix(name, p+".") {
				return true
			}
		}
		return false
	}
	set := map[string]bool{}
	var walk func(prefix string, v interface{})
	walk = func(prefix string, v interface{}) {
		if def, ok := spec[prefix]; ok {
			set[prefix] = true
			// An empty-string default ("unset: the job picks") implies no type.
			if def.Default != nil && def.Default != "" && v != nil && !IsVariable(v) {
				if want, got := kindOf(def.Default), kindOf(v); want != got {
					out = append(out, Problem{Kind: "wrong type", InstanceGroup: ig, Job: job.Name, Property: prefix,
						Detail: fmt.Sprintf("%s, the spec's default is a %s", got, want)})
				}
			}
			return
		}
		if mv, ok := v.(map[interface{}]interface{}); ok && (prefix == "" || isPrefix(prefix)) {
			keys := make([]string, 0, len(mv))
			for k := range mv {
				keys = append(keys, fmt.Sprint(k))
			}
			sort.Strings(keys)
			for _, k := range keys {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, mv[k])
			}
			return
		}
		if prefix == "" {
			return
		}
		out = append(out, Problem{Kind: "unknown property", InstanceGroup: ig, Job: job.Name, Property: prefix,
			Detail: "not declared in jobs/" + job.Name + "/spec"})
	}
	if props != nil {
		walk("", props)
	}
	var names []string
	for name := range spec {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if spec[name].Default == nil && !set[name] {
			out = append(out, Problem{Kind: "missing required property", InstanceGroup: ig, Job: job.Name, Property: name,
				Detail: "the spec has no default"})
		}
	}
	return out
}

func kindOf(v interface{}) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case int, int64, int32, uint64, float64, float32, uint, uint32:
		return "number"
	case []interface{}:
		return "list"
	case map[interface{}]interface{}, map[string]interface{}:
		return "hash"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}
