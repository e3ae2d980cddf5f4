// Package bbsaddr reads a component's bbs_address setting: the one rule
// for what the BBS's clients accept there.
package bbsaddr

import (
	"fmt"
	"net/url"
	"strings"
)

// URL turns bbs_address (host:port or an https URL) into the https URL the
// reference BBS client wants.
func URL(addr string) (string, error) {
	if !strings.Contains(addr, "://") {
		addr = "https://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("bbs_address %q must be host:port or an https URL (the BBS requires mutual TLS)", addr)
	}
	return u.String(), nil
}
