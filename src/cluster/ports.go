package cluster

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// listeners are the addresses the cluster's processes listen on, by what
// listens there.
func (l layout) listeners() [][2]string {
	out := [][2]string{
		{"the BBS", l.bbsAddr()}, {"the BBS's health listener", l.healthAddr()},
		{"Locket", l.locketAddr()}, {"the auctioneer", l.auctioneerAddr()},
		{"the file server", l.fileServerAddr()}, {"the SSH proxy", l.sshProxyAddr()},
		{"the route emitter's table", l.routesAddr()},
	}
	if !l.opts.NoHub {
		out = append(out, [2]string{"the hub", l.hubAddr()})
	}
	for z := 1; z < l.zones(); z++ {
		out = append(out, [2]string{"z2's BBS", l.bbsAddrZ(z)}, [2]string{"z2's BBS health listener", l.healthAddrZ(z)},
			[2]string{"z2's Locket", l.locketAddrZ(z)}, [2]string{"z2's auctioneer", l.auctioneerAddrZ(z)})
	}
	for z := 0; z < l.zones(); z++ {
		out = append(out, [2]string{suffix("auctioneer", z) + "'s metrics listener", l.auctioneerMetricsAddrZ(z)},
			[2]string{suffix("locket", z) + "'s metrics listener", l.locketMetricsAddrZ(z)})
	}
	if l.opts.NATSURL == "" {
		out = append(out, [2]string{"the embedded NATS server", l.natsAddr()})
	}
	for i := 0; i < l.opts.Cells && l.net == nil; i++ { // (a fresh namespace's ports are free)
		out = append(out, [2]string{l.cellID(i) + "'s rep", l.repAddr(i)}, [2]string{l.cellID(i) + "'s local API", l.localAddr(i)})
	}
	return out
}

// checkPorts fails, before anything starts, when a port the cluster needs
// is taken, naming the port, what would listen there and the process
// holding it (when /proc tells).
func (l layout) checkPorts() error {
	var errs []error
	for _, ls := range l.listeners() {
		ln, err := net.Listen("tcp", ls[1])
		if err == nil {
			ln.Close()
			continue
		}
		_, port, _ := net.SplitHostPort(ls[1])
		errs = append(errs, fmt.Errorf("port %s (for %s) is taken%s", port, ls[0], holderOf(port)))
	}
	if len(errs) > 0 {
		errs = append(errs, fmt.Errorf("stop what holds them, or choose other ports with --port-base (now %d; the cluster uses %d to %d)",
			l.opts.PortBase, l.opts.PortBase, l.opts.topPort()))
	}
	return errors.Join(errs...)
}

// holderOf says which process has a socket on the local port, from
// /proc/net/tcp{,6} and the processes' descriptors; "" when unknown.
func holderOf(port string) string {
	p, err := strconv.Atoi(port)
	if err != nil {
		return ""
	}
	want := fmt.Sprintf(":%04X", p)
	states := map[string]string{"0A": "is listening there", "01": "has a connection from it (an ephemeral port; pick another --port-base)"}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || !strings.HasSuffix(fields[1], want) {
				continue
			}
			what := states[fields[3]]
			if what == "" {
				what = "has a socket on it"
			}
			f.Close()
			if pid, name := socketOwner(fields[9]); pid != "" {
				return fmt.Sprintf(": %s (pid %s) %s", name, pid, what)
			}
			return ": another process " + what
		}
		f.Close()
	}
	return ""
}

// socketOwner finds the process with the socket inode open.
func socketOwner(inode string) (pid, name string) {
	link := "socket:[" + inode + "]"
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range procs {
		if target, err := os.Readlink(fd); err == nil && target == link {
			pid = strings.Split(fd, "/")[2]
			comm, _ := os.ReadFile(filepath.Join("/proc", pid, "comm"))
			return pid, strings.TrimSpace(string(comm))
		}
	}
	return "", ""
}
