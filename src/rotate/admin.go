package rotate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/diego-go/diego/src/bbs/reencrypt"
	"github.com/diego-go/diego/src/pki"
)

// errUnreachable: the BBS did not answer at all (a standby, or restarting).
var errUnreachable = errors.New("not reachable")

// AdminHTTPClient is an HTTP client presenting the admin certificate.
func AdminHTTPClient(caFile, certFile, keyFile string, timeout time.Duration) (*http.Client, error) {
	tlsCfg, err := pki.ClientTLSConfig(caFile, certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("admin client TLS: %w", err)
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	tr.Proxy = nil
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}

// admin calls /v1/admin/encryption/<op> on the BBS at base.
func (d *driver) admin(ctx context.Context, method, base, op string) (reencrypt.Status, error) {
	var st reencrypt.Status
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(base, "/")+"/v1/admin/encryption/"+op, nil)
	if err != nil {
		return st, err
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		if ctx.Err() == nil && isUnreachable(err) {
			return st, fmt.Errorf("%w: %v", errUnreachable, err)
		}
		return st, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return st, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(body))
		}
		switch resp.StatusCode {
		case http.StatusConflict:
			return st, fmt.Errorf("%w: %s", ErrKeyInUse, e.Error)
		case http.StatusForbidden:
			return st, fmt.Errorf("HTTP 403: %s (use the admin client certificate)", e.Error)
		}
		return st, fmt.Errorf("%s %s: HTTP %d: %s", method, op, resp.StatusCode, e.Error)
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, fmt.Errorf("%s %s: bad answer: %w", method, op, err)
	}
	return st, nil
}

func isUnreachable(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var ue *url.Error
	if errors.As(err, &ue) && (errors.Is(ue.Err, io.EOF) || strings.Contains(ue.Err.Error(), "connection reset")) {
		return true // the BBS went away mid-request (a restart)
	}
	return false
}
