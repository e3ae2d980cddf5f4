package rotate

import (
	"fmt"
	"strings"
	"testing"

	"github.com/diego-go/diego/src/bbs/reencrypt"
	"github.com/diego-go/diego/src/internal/golden"
)

// TestPlanScenarios runs every testdata/*.txt script (see package golden for
// the format; go test -rewrite regenerates the expectations). Commands:
//
//	vault     plans a Vault-mode run from the input lines:
//	            ring active=<label> keys=<l1,l2> [rotating_to=<label>]
//	            new <label>
//	manifest  plans a manifest-mode run from the input lines:
//	            manifest active=<label> keys=<l1,l2>
//	            bbs <url> active=<label> keys=<l1,l2>
//	            new <label>            (--new-key-label)
//	            default <label>        (the generated label)
//	            added-by-rotation      (the deployed manifest adds the unconfirmed key)
func TestPlanScenarios(t *testing.T) {
	golden.Run(t, "testdata/*.txt", func() func(*golden.Block) ([]string, error) {
		return runPlanBlock
	})
}

func runPlanBlock(b *golden.Block) ([]string, error) {
	switch b.Cmd {
	case "vault":
		var s VaultState
		for _, l := range b.Input {
			f, kv := fields(l)
			switch f[0] {
			case "ring":
				s.Active, s.Labels, s.RotatingTo = kv["active"], list(kv["keys"]), kv["rotating_to"]
			case "new":
				s.NewLabel = f[1]
			default:
				return nil, fmt.Errorf("vault: unknown input %q", l)
			}
		}
		p, err := PlanVault(s)
		if err != nil {
			return []string{"error: " + err.Error()}, nil
		}
		return []string{
			fmt.Sprintf("target %s resumed=%v add-key=%v activate=%v old=%v", p.Target, p.Resumed, p.AddKey, p.Activate, p.Old),
			"steps " + join(p.Steps),
		}, nil
	case "manifest":
		s := ManifestState{BBS: map[string]reencrypt.Status{}}
		for _, l := range b.Input {
			f, kv := fields(l)
			switch f[0] {
			case "manifest":
				s.BaseActive, s.BaseLabels = kv["active"], list(kv["keys"])
			case "bbs":
				s.BBS[f[1]] = reencrypt.Status{ActiveLabel: kv["active"], Labels: list(kv["keys"])}
			case "new":
				s.NewLabel = f[1]
			case "default":
				s.DefaultLabel = f[1]
			case "added-by-rotation":
				s.AddedByRotation = true
			default:
				return nil, fmt.Errorf("manifest: unknown input %q", l)
			}
		}
		var out []string
		if u := s.Unconfirmed(); u != "" {
			out = append(out, "unconfirmed "+u)
		}
		p, err := PlanManifest(s)
		if err != nil {
			return append(out, "error: "+err.Error()), nil
		}
		return append(out,
			fmt.Sprintf("target %s resumed=%v deploy1=%v deploy2=%v old=%v", p.Target, p.Resumed, p.Deploy1, p.Deploy2, p.Old),
			"steps "+join(p.Steps),
		), nil
	}
	return nil, fmt.Errorf("unknown command %q", b.Cmd)
}

// fields splits a line into its words and its key=value words.
func fields(l string) ([]string, map[string]string) {
	f := strings.Fields(l)
	kv := map[string]string{}
	for _, w := range f {
		if k, v, ok := strings.Cut(w, "="); ok {
			kv[k] = v
		}
	}
	return f, kv
}

func list(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func join[S fmt.Stringer](steps []S) string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.String()
	}
	return strings.Join(out, " ")
}
