package main

import "testing"

func TestCommandNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range commands {
		if c.Name == "" || c.Run == nil || seen[c.Name] {
			t.Fatalf("bad or duplicate command %q", c.Name)
		}
		seen[c.Name] = true
	}
}
