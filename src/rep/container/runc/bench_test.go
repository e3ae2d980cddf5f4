package runc_test

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/container/containertest"
)

// BenchmarkCreateRunReady measures, per iteration, Create (with one mapped
// port), Run of a listener on PORT (busybox nc), then dialing the host port
// until the listener's greeting arrives through the proxy; Destroy follows,
// outside the reported latencies. Reports p50/p99 of create-to-ready and the
// p50 of Destroy.
func BenchmarkCreateRunReady(b *testing.B) {
	benchCreateRunReady(b, container.Spec{MemoryMB: 64})
}

// BenchmarkCreateRunReadyQuota is BenchmarkCreateRunReady with a disk
// quota (an app's usual 1 GiB) and an egress rule.
func BenchmarkCreateRunReadyQuota(b *testing.B) {
	benchCreateRunReady(b, container.Spec{MemoryMB: 64, DiskMB: 1024, EgressRules: []container.EgressRule{
		{Protocol: "tcp", Destinations: []string{"10.0.0.0/8"}, Ports: []uint32{443, 5432}, ICMPType: -1, ICMPCode: -1},
	}})
}

func benchCreateRunReady(b *testing.B, spec container.Spec) {
	be := newBackend(b)
	var ready, destroy []time.Duration
	for i := 0; b.Loop(); i++ {
		handle := "bench-" + strconv.Itoa(i)
		start := time.Now()
		spec.Handle, spec.RootFS, spec.Ports = handle, "preloaded:cflinuxfs4", []uint32{8080}
		c, err := be.Create(b.Context(), spec)
		if err != nil {
			b.Fatal(err)
		}
		_, err = c.Run(b.Context(), container.ProcessSpec{Path: "nc", Args: []string{"-l", "-p", "8080", "-e", "echo", "hello"}}, container.ProcessIO{})
		if err != nil {
			b.Fatal(err)
		}
		info, err := c.Info(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		addr := net.JoinHostPort(info.HostIP, strconv.Itoa(int(info.Ports[0].HostPort)))
		for {
			line, err := containertest.ReadLine(addr)
			if err == nil && strings.HasPrefix(line, "hello") {
				break
			}
			if time.Since(start) > 10*time.Second {
				b.Fatalf("%s not ready after 10s: %q %v", addr, line, err)
			}
			time.Sleep(time.Millisecond)
		}
		ready = append(ready, time.Since(start))
		t := time.Now()
		if err := be.Destroy(b.Context(), handle); err != nil {
			b.Fatal(err)
		}
		destroy = append(destroy, time.Since(t))
	}
	pct := func(d []time.Duration, p float64) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[min(int(float64(len(s))*p), len(s)-1)].Microseconds()) / 1000
	}
	b.ReportMetric(pct(ready, 0.50), "p50-ms")
	b.ReportMetric(pct(ready, 0.99), "p99-ms")
	b.ReportMetric(pct(destroy, 0.50), "destroy-p50-ms")
}
