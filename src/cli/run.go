package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/cli/render"
)

// runOptions are `diego run`'s flags.
type runOptions struct {
	Instances, MemoryMB, DiskMB, Port int
	RootFS, Domain, User              string
	Env                               []string
	Routes                            []string
	SSH                               bool
	SSHDBundleURL                     string
	NoWait                            bool
	Timeout                           time.Duration
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// pollInterval is how often `run` checks its instances.
var pollInterval = 250 * time.Millisecond

// runRequest is what `run` desires and how it waits.
type runRequest struct {
	lrp     *models.DesiredLRP
	opts    runOptions
	command []string
}

// ran is `run`'s result: the RUNNING instances, once waited for.
type ran struct {
	lrps   []*models.ActualLRP
	waited bool
}

func runFlags(c *call) func([]string) (runRequest, error) {
	o := &runOptions{}
	c.fs.IntVar(&o.Instances, "instances", 1, "number of instances")
	c.fs.IntVar(&o.Instances, "i", 1, "short for --instances")
	c.fs.IntVar(&o.MemoryMB, "memory", 128, "memory limit per instance, MB")
	c.fs.IntVar(&o.MemoryMB, "m", 128, "short for --memory")
	c.fs.IntVar(&o.DiskMB, "disk", 256, "disk limit per instance, MB")
	c.fs.IntVar(&o.Port, "port", 0, "container port: exposed, set as $PORT and TCP health-checked (0: none)")
	c.fs.IntVar(&o.Port, "p", 0, "short for --port")
	c.str(&o.RootFS, "rootfs", "", "preloaded:cflinuxfs4", "root filesystem (preloaded:NAME or an image URL)")
	c.str(&o.Domain, "domain", "d", "diego", "domain of the LRP (created, fresh forever, if missing)")
	c.str(&o.User, "user", "", "vcap", "user the command runs as")
	env := &multi{}
	c.fs.Var(env, "env", "environment variable K=V (repeatable)")
	c.fs.Var(env, "e", "short for --env")
	routes := &multi{}
	c.fs.Var(routes, "route", "hostname routed to --port by the route emitter (repeatable)")
	c.fs.BoolVar(&o.SSH, "ssh", false, "run diego-sshd beside the app so `diego ssh NAME/INDEX` reaches it, as Cloud Controller does")
	c.fs.StringVar(&o.SSHDBundleURL, "sshd-bundle-url", "", "the diego-sshd lifecycle bundle for --ssh (default: the target's file server)")
	c.fs.BoolVar(&o.NoWait, "no-wait", false, "return once the LRP is desired")
	c.fs.DurationVar(&o.Timeout, "timeout", 60*time.Second, "how long to wait for every instance to be RUNNING")
	return func(pos []string) (runRequest, error) {
		o.Env, o.Routes = *env, *routes
		lrp, err := desiredLRPFor(pos[0], *o, c.dash)
		if err == nil && o.SSH {
			url := o.SSHDBundleURL
			if url == "" {
				url, err = c.sshdBundleURL()
			}
			if err == nil {
				err = withSSH(lrp, url)
			}
		}
		return runRequest{lrp: lrp, opts: *o, command: c.dash}, err
	}
}

func runApp(ctx context.Context, k *conn, r runRequest) (ran, error) {
	if err := ensureDomain(k.bbs, r.opts.Domain); err != nil {
		return ran{}, err
	}
	if err := k.bbs.DesireLRP(quiet, "", r.lrp); err != nil {
		return ran{}, fmt.Errorf("desiring %s: %w", r.lrp.ProcessGuid, err)
	}
	fmt.Fprintf(k.stderr, "desired %s: %d instance(s) of %s\n", r.lrp.ProcessGuid, r.opts.Instances, strings.Join(r.command, " "))
	if r.opts.NoWait {
		return ran{}, nil
	}
	lrps, err := waitRunning(ctx, k.bbs, k.stderr, r.lrp.ProcessGuid, r.opts.Instances, r.opts.Timeout)
	return ran{lrps: lrps, waited: true}, err
}

func printRun(c *call, r ran) error {
	if !r.waited {
		return nil
	}
	return list(render.ActualLRPHeader, render.ActualLRPRow)(c, r.lrps)
}

// desiredLRPFor builds the LRP `run` desires. One command argument is a
// shell command line, run with /bin/sh -c; several are a path and its
// arguments, run directly.
func desiredLRPFor(name string, o runOptions, command []string) (*models.DesiredLRP, error) {
	if len(command) == 0 {
		return nil, errors.New("run: no command: give it after --, e.g. diego run web -- ./server --port 8080")
	}
	if o.Instances < 0 || o.MemoryMB < 0 || o.DiskMB < 0 || o.Port < 0 || o.Port > 65535 {
		return nil, errors.New("run: --instances, --memory, --disk and --port must be non-negative (port <= 65535)")
	}
	action := &models.RunAction{Path: command[0], Args: command[1:], User: o.User}
	if len(command) == 1 {
		action = &models.RunAction{Path: "/bin/sh", Args: []string{"-c", command[0]}, User: o.User}
	}
	var env []*models.EnvironmentVariable
	for _, kv := range o.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("run: --env %q: want K=V", kv)
		}
		env = append(env, &models.EnvironmentVariable{Name: k, Value: v})
	}
	lrp := &models.DesiredLRP{
		ProcessGuid: name, Domain: o.Domain, RootFs: o.RootFS, Instances: int32(o.Instances),
		MemoryMb: int32(o.MemoryMB), DiskMb: int32(o.DiskMB), LogGuid: name, StartTimeoutMs: 60000,
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: name}},
		Action:     models.WrapAction(action),
	}
	if o.Port > 0 {
		port := uint32(o.Port)
		lrp.Ports = []uint32{port}
		env = append(env, &models.EnvironmentVariable{Name: "PORT", Value: strconv.Itoa(o.Port)})
		lrp.CheckDefinition = &models.CheckDefinition{Checks: []*models.Check{{TcpCheck: &models.TCPCheck{Port: port}}}}
	}
	if len(o.Routes) > 0 {
		if o.Port == 0 {
			return nil, errors.New("run: --route needs --port: the port the hostnames are routed to")
		}
		routes, err := cfRouterRoutes(o.Routes, uint32(o.Port))
		if err != nil {
			return nil, err
		}
		lrp.Routes = routes
	}
	lrp.EnvironmentVariables = env
	return lrp, nil
}

// cfRouterRoutes is the "cf-router" route of hostnames to port, in the
// shape Cloud Controller writes and route emitters read.
func cfRouterRoutes(hostnames []string, port uint32) (*models.Routes, error) {
	for _, h := range hostnames {
		if h == "" || strings.ContainsAny(h, " /:") {
			return nil, fmt.Errorf("run: --route %q: want a hostname such as app.diego.local", h)
		}
	}
	b, err := json.Marshal([]map[string]any{{"hostnames": hostnames, "port": port}})
	if err != nil {
		return nil, err
	}
	raw := json.RawMessage(b)
	return &models.Routes{"cf-router": &raw}, nil
}

// ensureDomain makes domain fresh forever if it is not fresh now.
func ensureDomain(client bbs.Client, domain string) error {
	list, err := client.Domains(quiet, "")
	if err != nil {
		return fmt.Errorf("listing domains: %w", err)
	}
	if slices.Contains(list, domain) {
		return nil
	}
	if err := client.UpsertDomain(quiet, "", domain, 0); err != nil {
		return fmt.Errorf("creating domain %s: %w", domain, err)
	}
	return nil
}

// waitRunning polls the instances of guid, printing a progress line to w
// whenever their states change, until all are RUNNING or timeout passes.
func waitRunning(ctx context.Context, client bbs.Client, w io.Writer, guid string, instances int, timeout time.Duration) ([]*models.ActualLRP, error) {
	start := time.Now()
	last := ""
	for {
		lrps, err := client.ActualLRPs(quiet, "", models.ActualLRPFilter{ProcessGuid: guid})
		if err != nil {
			return nil, fmt.Errorf("listing instances of %s: %w", guid, err)
		}
		p := summarize(lrps, instances)
		if text := p.String(); text != last {
			head, details, _ := strings.Cut(text, "\n")
			fmt.Fprintf(w, "%s [%s]\n", head, time.Since(start).Round(100*time.Millisecond))
			if details != "" {
				fmt.Fprintln(w, details)
			}
			last = text
		}
		if p.Running == instances {
			return lrps, nil
		}
		if time.Since(start) >= timeout {
			return nil, fmt.Errorf("timed out after %s waiting for %s: %d/%d RUNNING; missing: %s",
				timeout, guid, p.Running, instances, strings.Join(p.Missing, ", "))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s: %w", guid, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// progress summarises the instances of one LRP.
type progress struct {
	Running, Want int
	Counts        map[string]int // instances per state other than RUNNING
	Missing       []string       // "#index STATE" of each instance not RUNNING
	Details       []string       // crash reasons and placement errors
}

// summarize reports, per index below want, whether any instance is RUNNING.
func summarize(lrps []*models.ActualLRP, want int) progress {
	byIndex := map[int32][]*models.ActualLRP{}
	for _, l := range lrps {
		byIndex[l.Index] = append(byIndex[l.Index], l)
	}
	p := progress{Want: want, Counts: map[string]int{}}
	for i := int32(0); i < int32(want); i++ {
		state, detail := "MISSING", ""
		for _, l := range byIndex[i] {
			if l.State == models.ActualLRPStateRunning {
				state, detail = l.State, ""
				break
			}
			if l.Presence == models.ActualLRP_Ordinary || state == "MISSING" {
				state = l.State
				switch {
				case l.PlacementError != "":
					detail = "placement error: " + l.PlacementError
				case l.CrashReason != "":
					detail = fmt.Sprintf("crashed %d time(s): %s", l.CrashCount, l.CrashReason)
				}
			}
		}
		if state == models.ActualLRPStateRunning {
			p.Running++
			continue
		}
		p.Counts[state]++
		p.Missing = append(p.Missing, fmt.Sprintf("#%d %s", i, state))
		if detail != "" {
			p.Details = append(p.Details, fmt.Sprintf("#%d %s", i, detail))
		}
	}
	return p
}

// String is a progress line, e.g. "2/3 RUNNING (1 CRASHED)", then one
// indented line per crash reason or placement error.
func (p progress) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d RUNNING", p.Running, p.Want)
	var states []string
	for s := range p.Counts {
		states = append(states, s)
	}
	slices.Sort(states)
	var parts []string
	for _, s := range states {
		parts = append(parts, fmt.Sprintf("%d %s", p.Counts[s], s))
	}
	if len(parts) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(parts, ", "))
	}
	for _, d := range p.Details {
		b.WriteString("\n  " + d)
	}
	return b.String()
}
