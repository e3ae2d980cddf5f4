package vaulttest

import (
	"slices"
	"strings"
)

// Capabilities a policy grants on a path, as Vault names them.
const (
	CapCreate = "create"
	CapRead   = "read"
	CapUpdate = "update"
	CapDelete = "delete"
	CapList   = "list"
	CapDeny   = "deny"
	// CapRoot is what the root policy grants: every operation.
	CapRoot = "root"
)

// RootPolicy is the built-in policy of the root token: everything.
const RootPolicy = "root"

// Policy maps path patterns to capabilities, as a Vault ACL policy's
// `path "<pattern>" { capabilities = [...] }` blocks do. A pattern is an
// exact path, or a prefix ending in "*" that matches every path starting
// with it. Within one policy the most specific pattern that matches wins
// (exact before glob, longer glob before shorter), as in Vault; a token's
// capabilities are the union over its policies, and "deny" on the winning
// pattern of any policy denies everything.
type Policy map[string][]string

// capabilities is what p grants on path (nil: no pattern matches).
func (p Policy) capabilities(path string) []string {
	if c, ok := p[path]; ok {
		return c
	}
	best := ""
	for pat := range p {
		prefix, glob := strings.CutSuffix(pat, "*")
		if glob && strings.HasPrefix(path, prefix) && len(pat) > len(best) {
			best = pat
		}
	}
	if best == "" {
		return nil
	}
	return p[best]
}

// defaultPolicy is the part of Vault's built-in "default" policy (attached
// to every token unless disabled) that matters here: a token may ask which
// capabilities it has.
var defaultPolicy = Policy{"sys/capabilities-self": {CapUpdate}}

// capabilitiesOf is the sorted union of what policies grant on path:
// ["root"] for the root policy, ["deny"] for nothing.
func (s *Server) capabilitiesOf(policies []string, path string) []string {
	var out []string
	for _, name := range append([]string{"default"}, policies...) {
		if name == RootPolicy {
			return []string{CapRoot}
		}
		p := s.policies[name]
		if name == "default" {
			p = defaultPolicy
		}
		caps := p.capabilities(path)
		if slices.Contains(caps, CapDeny) {
			return []string{CapDeny}
		}
		for _, c := range caps {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	if len(out) == 0 {
		return []string{CapDeny}
	}
	slices.Sort(out)
	return out
}

// allowed: policies grant capability on path.
func (s *Server) allowed(policies []string, path, capability string) bool {
	caps := s.capabilitiesOf(policies, path)
	return slices.Contains(caps, CapRoot) || slices.Contains(caps, capability)
}

// BBSPolicy is the BBS's documented policy (docs/key-rotation.md): read on
// the key ring's data.
func BBSPolicy(mount, path string) Policy {
	return Policy{mount + "/data/" + path: {CapRead}}
}

// RotationPolicy is the rotation's documented policy: read and update on
// the key ring's data, update on its destroy path.
func RotationPolicy(mount, path string) Policy {
	return Policy{mount + "/data/" + path: {CapRead, CapUpdate}, mount + "/destroy/" + path: {CapUpdate}}
}
