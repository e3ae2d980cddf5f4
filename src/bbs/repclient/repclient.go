// Package repclient tells a cell's rep, over its mutual-TLS API, to stop an
// LRP instance or cancel a task.
package repclient

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

// Client calls reps. The zero value is not usable; use New.
type Client struct {
	http *http.Client
}

// New builds a client with the given TLS identity and per-call timeout.
func New(tlsConfig *tls.Config, timeout time.Duration) *Client {
	tr := &http.Transport{TLSClientConfig: tlsConfig, MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second}
	return &Client{http: &http.Client{Transport: tr, Timeout: timeout}}
}

// StopLRPInstance asks the cell to stop one instance.
func (c *Client) StopLRPInstance(ctx context.Context, cell *models.CellPresence, key models.ActualLRPKey, ik models.ActualLRPInstanceKey) error {
	return c.post(ctx, cell, fmt.Sprintf("/v1/lrps/%s/instances/%s/stop", url.PathEscape(key.ProcessGuid), url.PathEscape(ik.InstanceGuid)))
}

// CancelTask asks the cell to cancel one task.
func (c *Client) CancelTask(ctx context.Context, cell *models.CellPresence, taskGuid string) error {
	return c.post(ctx, cell, fmt.Sprintf("/v1/tasks/%s/cancel", url.PathEscape(taskGuid)))
}

func (c *Client) post(ctx context.Context, cell *models.CellPresence, path string) error {
	base := cell.RepUrl
	if base == "" {
		base = cell.RepAddress
	}
	if base == "" {
		return fmt.Errorf("cell %s has no rep_url or rep_address in its presence", cell.CellId)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, nil)
	if err != nil {
		return fmt.Errorf("building rep request for cell %s: %w", cell.CellId, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("calling rep on cell %s: %w", cell.CellId, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("rep on cell %s answered %s for %s", cell.CellId, resp.Status, path)
	}
	return nil
}
