package acceptance

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/ccrecipe"
	"github.com/diego-go/diego/src/internal/ccrecipe/report"
	"github.com/diego-go/diego/src/internal/testutil"
)

// testCloudFoundry runs what Cloud Controller sends: buildpack apps and
// tasks shaped by src/internal/ccrecipe exactly as Cloud Controller's recipe
// builders shape them, checked from inside the instances.
func testCloudFoundry(t *testing.T, e *env) {
	e.cfDomain(t, ccrecipe.AppLRPDomain)
	e.cfDomain(t, ccrecipe.TasksDomain)

	t.Run("buildpack app: cached lifecycle, droplet download, sidecar, HTTP check", func(t *testing.T) {
		t.Parallel()
		app := e.cfApp(t)
		app.Instances = 2
		lrp := app.DesiredLRP()
		e.desire(t, lrp)
		lrps := e.waitRunning(t, lrp.ProcessGuid, 2, 2*time.Minute)
		e.expectStored(t, lrp)
		for _, l := range lrps {
			e.checkInstance(t, app, l, "logger")
		}
	})

	t.Run("buildpack app: lifecycle and droplet as image layers", func(t *testing.T) {
		t.Parallel()
		app := e.cfApp(t)
		app.DeclarativeAssets = true
		lrp := app.DesiredLRP()
		e.desire(t, lrp)
		lrps := e.waitRunning(t, lrp.ProcessGuid, 1, 2*time.Minute)
		e.expectStored(t, lrp)
		e.checkInstance(t, app, lrps[0], "logger")
	})

	t.Run("a sidecar exiting crashes the instance", func(t *testing.T) {
		t.Parallel()
		app := e.cfApp(t)
		app.Sidecars = []ccrecipe.Sidecar{{Name: "crasher", Command: "./cfapp sidecar crasher 2s"}}
		lrp := app.DesiredLRP()
		e.desire(t, lrp)
		want := "APP/PROC/WEB/SIDECAR/CRASHER: Exited with status 1"
		testutil.Eventually(t, 2*time.Minute, "the instance crashed by its sidecar", func() (bool, string) {
			l := e.actuals(t, lrp.ProcessGuid)
			return len(l) == 1 && l[0].CrashCount > 0 && strings.Contains(l[0].CrashReason, want),
				describe(l) + e.instanceLog(lrp.ProcessGuid, 0)
		})
	})

	t.Run("a droplet failing its checksum crashes the instance", func(t *testing.T) {
		t.Parallel()
		app := e.cfApp(t)
		app.DropletSHA256 = strings.Repeat("0", 64)
		lrp := app.DesiredLRP()
		e.desire(t, lrp)
		testutil.Eventually(t, 2*time.Minute, "the instance crashed downloading its droplet", func() (bool, string) {
			l := e.actuals(t, lrp.ProcessGuid)
			return len(l) == 1 && l[0].CrashCount > 0 && l[0].CrashReason == "Downloading droplet failed",
				describe(l) + e.instanceLog(lrp.ProcessGuid, 0)
		})
	})

	t.Run("task: completion callback, RESOLVING without cell, then deleted", func(t *testing.T) {
		t.Parallel()
		e.testCFTask(t)
	})

	t.Run("operator CLI: the reference's cfdot commands", func(t *testing.T) {
		t.Parallel()
		testOperatorCLI(t, e)
	})
}

// expectStored checks that the BBS keeps every field Cloud Controller set.
func (e *env) expectStored(t *testing.T, want *models.DesiredLRP) {
	t.Helper()
	got, err := e.client.DesiredLRPByProcessGuid(e.logger, "", want.ProcessGuid)
	if err != nil {
		t.Fatalf("getting desired LRP %s: %v", want.ProcessGuid, err)
	}
	got.ModificationTag = want.ModificationTag
	if !got.Equal(want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("stored desired LRP differs from the one desired:\n got %s\nwant %s", g, w)
	}
}

// checkInstance checks an instance from inside: the droplet in the app
// directory, the sidecar beside it, the environment the executor and Cloud
// Controller give, the instance identity certificate, the trusted
// certificates.
func (e *env) checkInstance(t *testing.T, app ccrecipe.App, l *models.ActualLRP, sidecar string) {
	t.Helper()
	if code, body, err := get(l, "/"); err != nil || code != 200 || body != fmt.Sprintf("hello from %d %s\n", l.Index, l.InstanceGuid) {
		t.Errorf("instance %d: GET / = %d %q (%v)", l.Index, code, body, err)
	}
	var r report.Report
	testutil.Eventually(t, 30*time.Second, "the sidecar's pid file", func() (bool, string) {
		r = instanceReport(t, l)
		f := r.Files["sidecar-"+sidecar+".pid"]
		return f.Exists, fmt.Sprintf("files %+v", r.Files)
	})
	if !strings.HasSuffix(r.Cwd, "/app") {
		t.Errorf("instance %d: working directory %q, want the droplet's app directory", l.Index, r.Cwd)
	}
	if f := r.Files["droplet.txt"]; f.Text != ccrecipe.DropletText {
		t.Errorf("instance %d: droplet.txt = %+v", l.Index, f)
	}
	if !r.Files["cfapp"].Exists || !r.Files["../staging_info.yml"].Exists {
		t.Errorf("instance %d: droplet files %+v", l.Index, r.Files)
	}
	e.checkEnv(t, fmt.Sprintf("instance %d", l.Index), r.Env, map[string]string{
		"LANG": ccrecipe.DefaultLang, "VCAP_APP_HOST": "0.0.0.0", "MEMORY_LIMIT": fmt.Sprintf("%dm", app.MemoryMB),
		"VCAP_SERVICES": "{}", "INSTANCE_GUID": l.InstanceGuid, "INSTANCE_INDEX": fmt.Sprint(l.Index),
		"CF_INSTANCE_GUID": l.InstanceGuid, "CF_INSTANCE_INDEX": fmt.Sprint(l.Index),
		"CF_INSTANCE_IP": l.Address, "CF_INSTANCE_INTERNAL_IP": l.InstanceAddress,
		"CF_INSTANCE_ADDR": fmt.Sprintf("%s:%d", l.Address, l.Ports[0].HostPort),
		"CF_INSTANCE_PORT": fmt.Sprint(l.Ports[0].HostPort),
	})
	var vcap struct {
		ApplicationID string `json:"application_id"`
		SpaceID       string `json:"space_id"`
	}
	if err := json.Unmarshal([]byte(r.Env["VCAP_APPLICATION"]), &vcap); err != nil || vcap.ApplicationID != app.AppGuid || vcap.SpaceID != app.SpaceGuid {
		t.Errorf("instance %d: VCAP_APPLICATION %q (%v)", l.Index, r.Env["VCAP_APPLICATION"], err)
	}
	e.checkIdentity(t, fmt.Sprintf("instance %d", l.Index), app, r, l.InstanceGuid, l.InstanceAddress)
}

// checkEnv checks the variables every process of a Cloud Foundry container
// has: want's values, the credential and certificate paths.
func (e *env) checkEnv(t *testing.T, who string, env, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got, ok := env[k]; !ok || got != v {
			t.Errorf("%s: %s = %q (set: %v), want %q", who, k, got, ok, v)
		}
	}
	for _, k := range []string{"CF_INSTANCE_CERT", "CF_INSTANCE_KEY", "CF_SYSTEM_CERT_PATH", "VCAP_APPLICATION", "CF_INSTANCE_PORTS"} {
		if env[k] == "" {
			t.Errorf("%s: %s is not set", who, k)
		}
	}
	if e.containerHome() != "/" {
		// paths inside a real root filesystem are the reference's
		for k, v := range map[string]string{"CF_INSTANCE_CERT": "/etc/cf-instance-credentials/instance.crt",
			"CF_INSTANCE_KEY": "/etc/cf-instance-credentials/instance.key", "CF_SYSTEM_CERT_PATH": ccrecipe.TrustedSystemCertPath} {
			if env[k] != v {
				t.Errorf("%s: %s = %q, want %q", who, k, env[k], v)
			}
		}
	}
}

// checkIdentity checks the instance identity certificate as read inside
// the container: CN and DNS SAN the guid, the IP SAN the container's
// address, Cloud Controller's OUs, valid now, the key its own; and that
// the trusted system certificates are there.
func (e *env) checkIdentity(t *testing.T, who string, app ccrecipe.App, r report.Report, guid, ip string) {
	t.Helper()
	c := r.Cert
	if c == nil {
		t.Errorf("%s: no instance identity certificate: %s", who, r.CertErr)
		return
	}
	if c.CommonName != guid || !slices.Contains(c.DNSNames, guid) {
		t.Errorf("%s: certificate CN %q, DNS SANs %v, want %s", who, c.CommonName, c.DNSNames, guid)
	}
	if ip != "" && !slices.Contains(c.IPs, ip) {
		t.Errorf("%s: certificate IP SANs %v, want %s", who, c.IPs, ip)
	}
	for _, ou := range []string{"organization:" + app.OrgGuid, "space:" + app.SpaceGuid, "app:" + app.AppGuid} {
		if !slices.Contains(c.OUs, ou) {
			t.Errorf("%s: certificate OUs %v lack %q", who, c.OUs, ou)
		}
	}
	if now := time.Now(); c.NotBefore.After(now.Add(time.Minute)) || c.NotAfter.Before(now) || !c.KeyMatches {
		t.Errorf("%s: certificate valid %s to %s, key matches %v", who, c.NotBefore, c.NotAfter, c.KeyMatches)
	}
	if len(r.SystemCerts) == 0 {
		t.Errorf("%s: no trusted system certificates in %s", who, r.Env["CF_SYSTEM_CERT_PATH"])
	}
}

// callback is one completion callback the BBS made, with the task as the
// BBS had it at that moment.
type callback struct {
	body  models.TaskCallbackResponse
	state models.Task_State
	cell  string
	err   error
}

// testCFTask runs a task of an app as Cloud Controller does: the droplet
// downloaded, the launcher running a command (here writing a report to
// a result file), and a completion callback, which the BBS makes with
// the task RESOLVING and no cell, then deletes it.
func (e *env) testCFTask(t *testing.T) {
	var mu sync.Mutex
	var calls []callback
	ln, err := net.Listen("tcp", e.cfg.AppListen)
	if err != nil {
		t.Fatalf("listening for the completion callback: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c callback
		b, _ := io.ReadAll(r.Body)
		c.err = json.Unmarshal(b, &c.body)
		if task, err := e.client.TaskByGuid(e.logger, "", c.body.TaskGuid); err == nil {
			c.state, c.cell = task.State, task.CellId
		}
		mu.Lock()
		calls = append(calls, c)
		mu.Unlock()
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()

	app := e.cfApp(t)
	g := uuid()
	def := app.Task("migrate", "./cfapp task result.json", srv.URL+"/internal/v4/tasks/"+g+"/completed")
	def.ResultFile = strings.TrimSuffix(e.containerHome(), "/") + "/app/result.json"
	if err := e.client.DesireTask(e.logger, "", g, ccrecipe.TasksDomain, def); err != nil {
		t.Fatalf("desiring task %s: %v", g, err)
	}
	t.Cleanup(func() { _ = e.client.DeleteTask(e.logger, "", g) })

	var c callback
	testutil.Eventually(t, 2*time.Minute, "the completion callback", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		if len(calls) > 0 {
			c = calls[0]
			return true, ""
		}
		task, err := e.client.TaskByGuid(e.logger, "", g)
		return false, fmt.Sprintf("%s %v", task.GetState(), err) + e.taskLog(g)
	})
	if c.err != nil || c.body.TaskGuid != g || c.body.Failed {
		t.Fatalf("callback: %+v (%v)%s", c.body, c.err, e.taskLog(g))
	}
	if c.state != models.Task_Resolving || c.cell != "" {
		t.Errorf("during the callback the task was %s on cell %q, want RESOLVING with no cell", c.state, c.cell)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(c.body.Result), &r); err != nil {
		t.Fatalf("the task's result is not its report: %v\n%q", err, c.body.Result)
	}
	if f := r.Files["droplet.txt"]; f.Text != ccrecipe.DropletText {
		t.Errorf("task: droplet.txt = %+v", f)
	}
	e.checkEnv(t, "task", r.Env, map[string]string{"LANG": ccrecipe.DefaultLang, "VCAP_SERVICES": "{}",
		"MEMORY_LIMIT": fmt.Sprintf("%dm", app.MemoryMB)})
	e.checkIdentity(t, "task", app, r, g, "")
	testutil.Eventually(t, 30*time.Second, "the task deleted after its callback", func() (bool, string) {
		task, err := e.client.TaskByGuid(e.logger, "", g)
		return errType(err) == models.Error_ResourceNotFound, fmt.Sprintf("%s %v", task.GetState(), err)
	})
}
