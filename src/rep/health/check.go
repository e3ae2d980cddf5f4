// Package health runs an instance's declared liveness and readiness checks and reports when it becomes healthy, unhealthy, ready or unready.
package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/internal/each"
)

// DefaultCheckTimeout is the connect or request timeout of a check that
// names none (the reference's 1000 ms).
const DefaultCheckTimeout = time.Second

// Resolver maps a container port to the "host:port" address it answers on
// from the cell (the container's host IP and mapped host port).
type Resolver func(ctx context.Context, containerPort uint32) (string, error)

// Checker probes an instance once; a nil error means healthy.
type Checker interface {
	Check(ctx context.Context) error
	// Interval is how often the check runs once healthy (0 = the
	// monitor's default).
	Interval() time.Duration
}

// Error is a failed check, worded like the reference's healthcheck.
type Error struct {
	Msg string
	Err error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// NewChecker builds the checker for one check definition.
func NewChecker(c *models.Check, resolve Resolver) (Checker, error) {
	if c == nil {
		return nil, errors.New("health: empty check")
	}
	switch {
	case c.TcpCheck != nil && c.HttpCheck != nil:
		return nil, errors.New("health: check is both tcp and http")
	case c.TcpCheck != nil:
		t := c.TcpCheck
		if t.Port == 0 {
			return nil, errors.New("health: tcp check without a port")
		}
		return &TCPChecker{probe(t.Port, t.ConnectTimeoutMs, t.IntervalMs, resolve)}, nil
	case c.HttpCheck != nil:
		h := c.HttpCheck
		if h.Port == 0 {
			return nil, errors.New("health: http check without a port")
		}
		path := h.Path
		if path == "" {
			path = "/"
		}
		return &HTTPChecker{Probe: probe(h.Port, h.RequestTimeoutMs, h.IntervalMs, resolve), Path: path}, nil
	}
	return nil, errors.New("health: check is neither tcp nor http")
}

// NewCheckers builds a checker for every check definition.
func NewCheckers(cs []*models.Check, resolve Resolver) ([]Checker, error) {
	return each.Map(cs, "check", func(c *models.Check) (Checker, error) { return NewChecker(c, resolve) })
}

// probe is a check of port with a timeout in ms (0: DefaultCheckTimeout)
// every intervalMs.
func probe(port uint32, timeoutMs, intervalMs uint64, resolve Resolver) Probe {
	timeout := DefaultCheckTimeout
	if timeoutMs != 0 {
		timeout = time.Duration(timeoutMs) * time.Millisecond
	}
	return Probe{Port: port, Timeout: timeout, Every: time.Duration(intervalMs) * time.Millisecond, Resolve: resolve}
}

// Probe is what the TCP and HTTP checks share: the port, how it is
// reached, the timeout of one attempt and the interval between attempts.
type Probe struct {
	Port    uint32
	Timeout time.Duration
	Every   time.Duration
	Resolve Resolver
}

// Interval implements Checker.
func (p *Probe) Interval() time.Duration { return p.Every }

// TCPChecker is healthy when a TCP connection to the port succeeds.
type TCPChecker struct{ Probe }

// Check implements Checker.
func (c *TCPChecker) Check(ctx context.Context) error {
	addr, err := c.Resolve(ctx, c.Port)
	if err != nil {
		return &Error{Msg: TCPFailure(fmt.Sprintf("port %d", c.Port), err.Error()), Err: err}
	}
	d := net.Dialer{Timeout: c.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		// Named as from inside the container (the reference's healthcheck
		// runs there): its IP and the declared port, even where the cell
		// reaches the port through a host mapping.
		named := addr
		if host, _, err := net.SplitHostPort(addr); err == nil {
			named = net.JoinHostPort(host, strconv.FormatUint(uint64(c.Port), 10))
		}
		if isTimeout(err) {
			return &Error{Msg: TCPFailure(named, TimedOut(c.Timeout)), Err: err}
		}
		return &Error{Msg: TCPFailure(named, strings.ReplaceAll(err.Error(), addr, named)), Err: err}
	}
	conn.Close()
	return nil
}

// HTTPChecker is healthy when a GET of the path answers 200 OK.
type HTTPChecker struct {
	Probe
	Path string
}

// Check implements Checker.
func (c *HTTPChecker) Check(ctx context.Context) error {
	port := strconv.FormatUint(uint64(c.Port), 10)
	addr, err := c.Resolve(ctx, c.Port)
	if err != nil {
		return &Error{Msg: HTTPFailure(c.Path, port, err.Error()), Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+c.Path, nil)
	if err != nil {
		return &Error{Msg: fmt.Sprintf("failed to create an HTTP request to '%s' on port %s", c.Path, port), Err: err}
	}
	req.Header.Set("User-Agent", "diego-healthcheck")
	req.Header.Set("X-Forwarded-Proto", "https")
	start := time.Now()
	resp, err := healthClient.Do(req)
	if err != nil {
		if isTimeout(err) || errors.Is(err, context.DeadlineExceeded) {
			return &Error{Msg: HTTPFailure(c.Path, port, TimedOut(c.Timeout)), Err: err}
		}
		return &Error{Msg: HTTPFailure(c.Path, port, "connection refused"), Err: err}
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &Error{Msg: HTTPFailure(c.Path, port, fmt.Sprintf("received status code %d in %dms", resp.StatusCode, time.Since(start).Milliseconds()))}
	}
	return nil
}

// healthClient follows redirects like the reference's healthcheck but keeps
// no connections, so every check dials afresh.
var healthClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// HostPortResolver resolves container ports through a fixed host IP and
// port mapping (as container.Info reports them).
func HostPortResolver(hostIP string, mapping map[uint32]uint32) Resolver {
	return func(_ context.Context, port uint32) (string, error) {
		hp, ok := mapping[port]
		if !ok {
			return "", fmt.Errorf("port %d is not mapped", port)
		}
		return net.JoinHostPort(hostIP, strconv.FormatUint(uint64(hp), 10)), nil
	}
}

// ContainerResolver resolves container ports on the container's own
// address, for backends whose containers have one reachable from the cell
// (runc, garden): the check then reaches the app itself, not a port proxy
// on the host that accepts connections before the app listens.
func ContainerResolver(containerIP string) Resolver {
	return func(_ context.Context, port uint32) (string, error) {
		return net.JoinHostPort(containerIP, strconv.FormatUint(uint64(port), 10)), nil
	}
}
