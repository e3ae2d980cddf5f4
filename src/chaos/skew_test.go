//go:build chaos

package chaos

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/pki"
)

// skewed are the cells clockSkew moves, and by how much: one ahead of the
// control plane and its peers, one behind.
var skewed = map[string]time.Duration{"cell-1": 30 * time.Second, "cell-2": -30 * time.Second}

// clockSkew restarts two cells with their wall clocks 30 s ahead and 30 s
// behind the rest (a cell that came up before NTP synchronised it), under
// load: each keeps its presence, takes new instances and tasks, and the
// instance identity credentials it issues are valid at once to a peer on
// the right time (the reference's, valid from the cell's "now", are
// refused for the first 30 s by every peer behind a cell that runs ahead).
// The clocks are put right (another restart) once the scenario is audited.
func clockSkew(t *testing.T, c *Cluster, dir string) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	load := c.StartLoad(t, "skew", "app")
	time.Sleep(3 * time.Second)
	f := Fault{Start: time.Now()}
	cells := make([]string, 0, len(skewed))
	for cell := range skewed {
		cells = append(cells, cell)
	}
	sort.Strings(cells)
	for _, cell := range cells {
		if err := c.C.SkewCell(ctx, cell, skewed[cell]); err != nil {
			t.Fatalf("restarting %s %s off: %v", cell, skewed[cell], err)
		}
		testutil.Eventually(t, time.Minute, cell+"'s log saying its clock is moved", func() (bool, string) {
			return c.LogCount("rep-"+cell, "wall clock is moved") > 0, ""
		})
	}
	f.End = time.Now()
	// Six instances over three cells, two of them just emptied by their
	// restart: the auction puts instances on both skewed cells.
	c.DesireApp(t, "skewapp", 6)
	var onSkewed map[string][]string
	testutil.Eventually(t, 2*time.Minute, "skewapp RUNNING on both skewed cells", func() (bool, string) {
		onSkewed = runningOn(c, "skewapp", cells)
		return len(onSkewed[cells[0]]) > 0 && len(onSkewed[cells[1]]) > 0, fmt.Sprint(onSkewed)
	})
	checked, refused, err := verifyIdentities(dir, onSkewed)
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) > 0 {
		t.Errorf("%d of %d instance identity certificates refused by a peer on the right time:\n%s", len(refused), checked, strings.Join(refused, "\n"))
	}
	c.Finish(t, "clock skew 30 s on a cell", load, f, 2*time.Minute, map[string]string{
		"skew":                               "cell-1 +30 s, cell-2 -30 s",
		"identity credentials valid at once": fmt.Sprintf("%d of %d", checked-len(refused), checked),
	})
	if err := c.BBS.RemoveDesiredLRP(lg, "", "skewapp"); err != nil {
		t.Errorf("removing skewapp: %v", err)
	}
	for _, cell := range cells {
		if err := c.C.SkewCell(ctx, cell, 0); err != nil {
			t.Fatalf("putting %s's clock right: %v", cell, err)
		}
	}
	c.WaitConverged(t, 2*time.Minute)
}

// runningOn maps each of cells to the guids of app's RUNNING instances on it.
func runningOn(c *Cluster, app string, cells []string) map[string][]string {
	out := map[string][]string{}
	lrps, err := c.BBS.ActualLRPs(lg, "", models.ActualLRPFilter{ProcessGuid: app})
	if err != nil {
		return out
	}
	for _, l := range lrps {
		for _, cell := range cells {
			if l.State == models.ActualLRPStateRunning && l.CellId == cell {
				out[cell] = append(out[cell], l.InstanceGuid)
			}
		}
	}
	return out
}

// verifyIdentities checks each listed instance's identity certificate, as
// its cell wrote it, against the cluster's identity CA at this host's
// time: the time of a peer whose clock is right. It returns how many it
// checked and why each refused one was.
func verifyIdentities(dir string, byCell map[string][]string) (int, []string, error) {
	pool, err := pki.LoadCAPool(filepath.Join(dir, "certs", "instance-identity", "ca.crt"))
	if err != nil {
		return 0, nil, err
	}
	var refused []string
	n := 0
	for cell, guids := range byCell {
		for _, g := range guids {
			n++
			leaf, err := readLeaf(filepath.Join(dir, "cells", cell, "instance-identity", g, "instance.crt"))
			if err != nil {
				refused = append(refused, fmt.Sprintf("%s on %s: %v", g, cell, err))
				continue
			}
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				refused = append(refused, fmt.Sprintf("%s on %s (clock %s): valid from %s, now %s: %v",
					g, cell, skewed[cell], leaf.NotBefore.Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339), err))
			}
		}
	}
	return n, refused, nil
}

// readLeaf parses the first certificate of a PEM file.
func readLeaf(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return x509.ParseCertificate(b.Bytes)
}
