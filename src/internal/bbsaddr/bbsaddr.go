// Package bbsaddr reads the address settings of the BBS's, Locket's and the
// auctioneer's clients (bbs_address, locket_address, auctioneer_address): one
// address as in the reference, or several, comma-separated, used in turn the
// way the reference's clients use every address a DNS name resolves to.
package bbsaddr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// URL turns bbs_address (host:port or an https URL, or several of them
// comma-separated) into the https URL(s) the BBS clients want, comma-joined.
func URL(addr string) (string, error) {
	urls, err := URLs(addr)
	if err != nil {
		return "", err
	}
	return strings.Join(urls, ","), nil
}

// URLs splits bbs_address into its https URLs.
func URLs(addr string) ([]string, error) {
	var out []string
	for _, a := range split(addr) {
		if !strings.Contains(a, "://") {
			a = "https://" + a
		}
		u, err := url.Parse(a)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("bbs_address %q must be host:port or an https URL, or several comma-separated (the BBS requires mutual TLS)", addr)
		}
		out = append(out, u.String())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("bbs_address %q names no address", addr)
	}
	return out, nil
}

// HostPorts splits a host:port list (locket_address, auctioneer_address
// without a scheme) and checks each entry.
func HostPorts(setting, addr string) ([]string, error) {
	var out []string
	for _, a := range split(addr) {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("%s %q must be host:port, or several comma-separated: %w", setting, addr, err)
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s %q names no address", setting, addr)
	}
	return out, nil
}

func split(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// Dialer dials the first of several host:port addresses that accepts a
// connection, starting from the last one that did; an http.Transport using
// its DialContext fails over between servers of which only the leader
// listens (the BBS, the auctioneer).
type Dialer struct {
	addrs []string
	last  atomic.Int32
	d     net.Dialer
}

// NewDialer returns a dialer over addrs (host:port each).
func NewDialer(addrs []string) *Dialer {
	return &Dialer{addrs: addrs, d: net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}}
}

// DialContext ignores addr when it is one of the dialer's (any of them
// will do) and otherwise dials addr as asked.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	known := false
	for _, a := range d.addrs {
		known = known || a == addr
	}
	if !known {
		return d.d.DialContext(ctx, network, addr)
	}
	start := int(d.last.Load())
	var errs []error
	for i := range d.addrs {
		n := (start + i) % len(d.addrs)
		conn, err := d.d.DialContext(ctx, network, d.addrs[n])
		if err == nil {
			d.last.Store(int32(n))
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("none of %s accepted a connection: %w", strings.Join(d.addrs, ", "), errors.Join(errs...))
}
