package chaos

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"
)

// Prober sends HTTP requests to every RUNNING instance of some apps, as a
// router would: the instance list comes from the BBS every second and the
// last good list is kept while the BBS does not answer. It counts, per
// second, the answers and failures of each app.
type Prober struct {
	cl     bbs.Client
	apps   []string
	start  time.Time
	http   *http.Client
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	instances map[string][]string // app -> host:port of its RUNNING instances
	seconds   []map[string]*Second
	failures  []string // the first failures, for the test's log
}

// Second is one app's probes in one second.
type Second struct{ OK, Failed int }

// StartProber probes apps (process guids) every 200 ms until Stop.
func StartProber(cl bbs.Client, apps ...string) *Prober {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Prober{cl: cl, apps: apps, start: time.Now(), cancel: cancel, done: make(chan struct{}),
		http:      &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
		instances: map[string][]string{}}
	p.refresh()
	go p.run(ctx)
	return p
}

// Stop stops probing.
func (p *Prober) Stop() {
	p.cancel()
	<-p.done
}

func (p *Prober) run(ctx context.Context) {
	defer close(p.done)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
				p.refresh()
			}
		}
	}()
	for ctx.Err() == nil {
		p.probeAll()
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	wg.Wait()
}

func (p *Prober) refresh() {
	for _, app := range p.apps {
		lrps, err := p.cl.ActualLRPs(lg, "", models.ActualLRPFilter{ProcessGuid: app})
		if err != nil {
			continue // keep the last list, as a router keeps its table
		}
		var addrs []string
		for _, l := range lrps {
			if l.State == models.ActualLRPStateRunning && len(l.Ports) > 0 {
				addrs = append(addrs, fmt.Sprintf("%s:%d", l.Address, l.Ports[0].HostPort))
			}
		}
		p.mu.Lock()
		p.instances[app] = addrs
		p.mu.Unlock()
	}
}

func (p *Prober) probeAll() {
	var wg sync.WaitGroup
	for _, app := range p.apps {
		p.mu.Lock()
		addrs := append([]string(nil), p.instances[app]...)
		p.mu.Unlock()
		for _, a := range addrs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				at := time.Now()
				err := p.probe(a)
				p.count(app, at, err == nil)
				if err != nil {
					p.mu.Lock()
					if len(p.failures) < 20 {
						p.failures = append(p.failures, fmt.Sprintf("%s %s %s: %v", at.Format("15:04:05.000"), app, a, err))
					}
					p.mu.Unlock()
				}
			}()
		}
		if len(addrs) == 0 {
			p.count(app, time.Now(), false)
		}
	}
	wg.Wait()
}

func (p *Prober) probe(addr string) error {
	resp, err := p.http.Get("http://" + addr + "/")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(b), "hello from ") {
		return fmt.Errorf("%s: %q", resp.Status, b)
	}
	return nil
}

// Failures returns the first failed probes (up to 20), each with its time,
// app, address and error.
func (p *Prober) Failures() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.failures...)
}

func (p *Prober) count(app string, at time.Time, ok bool) {
	sec := int(at.Sub(p.start) / time.Second)
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.seconds) <= sec {
		p.seconds = append(p.seconds, map[string]*Second{})
	}
	s := p.seconds[sec][app]
	if s == nil {
		s = &Second{}
		p.seconds[sec][app] = s
	}
	if ok {
		s.OK++
	} else {
		s.Failed++
	}
}

// ProbeStats sums a prober's seconds.
type ProbeStats struct {
	OK, Failed int
	// DownSeconds counts the seconds in which some app answered no probe.
	DownSeconds int
	// FailingSeconds counts the seconds with at least one failed probe
	// (an instance down while others answered).
	FailingSeconds int
}

// Stats sums the seconds between from and to (zero to = until now).
func (p *Prober) Stats(from, to time.Time) ProbeStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	var st ProbeStats
	for i, sec := range p.seconds {
		at := p.start.Add(time.Duration(i) * time.Second)
		if at.Before(from.Truncate(time.Second)) || (!to.IsZero() && at.After(to)) {
			continue
		}
		down, failing := false, false
		for _, app := range p.apps {
			s := sec[app]
			if s == nil {
				continue // no probe finished in this second
			}
			st.OK += s.OK
			st.Failed += s.Failed
			if s.OK == 0 && s.Failed > 0 {
				down = true
			}
			if s.Failed > 0 {
				failing = true
			}
		}
		if down {
			st.DownSeconds++
		}
		if failing {
			st.FailingSeconds++
		}
	}
	return st
}
