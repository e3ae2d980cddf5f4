//go:build chaos

package chaos

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs"

	"github.com/diego-go/diego/src/cluster"
	"github.com/diego-go/diego/src/internal/bbsaddr"
	"github.com/diego-go/diego/src/internal/testdb"
	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/target"
)

// upHA starts a `diego up --ha` cluster of cells on a fresh PostgreSQL
// database, with a BBS client over every BBS (as the CLI builds it from
// the target file), and stops it when the test ends.
func upHA(tb testing.TB, cells int) *Cluster {
	tb.Helper()
	opts := cluster.Options{Cells: cells, HA: true, DB: testdb.Postgres(tb)}
	return UpWith(tb, opts, func(t target.File) (bbs.InternalClient, error) {
		return bbsaddr.NewClient(bbs.ClientConfig{URL: t.BBSURL, IsTLS: true,
			CAFile: t.CACert, CertFile: t.ClientCert, KeyFile: t.ClientKey, RequestTimeout: RequestTimeout})
	})
}

// leadingBBS is the name ("bbs" or "bbs-z2") of the BBS whose health
// listener answers /leader with 200, "" when none does.
func (r *Cluster) leadingBBS() string {
	for i, u := range r.Target().BBSHealthURLs {
		resp, err := http.Get(u + "/leader")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			if i == 0 {
				return "bbs"
			}
			return "bbs-z2"
		}
	}
	return ""
}

// serving waits until a BBS leads and answers the client, returning when.
func (r *Cluster) serving(tb testing.TB, within time.Duration) time.Time {
	tb.Helper()
	var at time.Time
	testutil.Eventually(tb, within, "a BBS leading and answering", func() (bool, string) {
		lead := r.leadingBBS()
		_, err := r.BBS.Domains(lg, "")
		at = time.Now()
		return lead != "" && err == nil, fmt.Sprintf("leader %q, %v", lead, err)
	})
	return at
}

// figure prints a scenario's figures as one CHAOS-FIGURE line (beside the
// table Record feeds), for logs and CI output.
func figure(tb testing.TB, scenario string, kv ...string) {
	tb.Helper()
	tb.Logf("CHAOS-FIGURE scenario=%q %s", scenario, strings.Join(kv, " "))
}
