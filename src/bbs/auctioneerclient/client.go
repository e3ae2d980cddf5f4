// Package auctioneerclient sends the BBS's start requests to the auctioneer over mutual TLS, in the reference auctioneer's JSON.
package auctioneerclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/auctionapi"
	"github.com/diego-go/diego/src/bbs/service"
	"github.com/diego-go/diego/src/internal/bbsaddr"
)

// Defaults for Config.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultMaxPerRequest = 5000
	DefaultAttempts      = 3
	DefaultRetryWait     = 500 * time.Millisecond
)

// Config says where the auctioneer is and how to call it.
type Config struct {
	// Address is the auctioneer's host:port or https:// URL.
	Address string
	// TLS is the client's mutual-TLS configuration (pki.ClientTLSConfig).
	TLS *tls.Config
	// Timeout bounds each request (default 10 s).
	Timeout time.Duration
	// MaxPerRequest splits larger calls into several requests (default
	// 5,000 start requests each, well under the auctioneer's body limit).
	MaxPerRequest int
	// Attempts per request when the auctioneer cannot be reached (default
	// 3), RetryWait apart (default 500 ms). An answer other than 202 is
	// not retried.
	Attempts  int
	RetryWait time.Duration
	Logger    *slog.Logger
}

// Validate fills defaults and rejects a config that cannot work.
func (c *Config) Validate() error {
	if c.Address == "" {
		return errors.New("auctioneerclient: no auctioneer address")
	}
	if c.TLS == nil {
		return errors.New("auctioneerclient: no TLS config (the auctioneer requires mutual TLS)")
	}
	if c.Timeout < 0 || c.MaxPerRequest < 0 || c.Attempts < 0 || c.RetryWait < 0 {
		return errors.New("auctioneerclient: timeout, batch size, attempts and retry wait must not be negative")
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxPerRequest == 0 {
		c.MaxPerRequest = DefaultMaxPerRequest
	}
	if c.Attempts == 0 {
		c.Attempts = DefaultAttempts
	}
	if c.RetryWait == 0 {
		c.RetryWait = DefaultRetryWait
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Client implements service.Auctioneer.
type Client struct {
	cfg  Config
	base string
	http *http.Client
}

var _ service.Auctioneer = (*Client)(nil)

// New builds a client; it does not contact the auctioneer.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Several auctioneers, comma-separated: only the lock holder listens,
	// so connections go to the first that accepts.
	var base string
	var hosts []string
	for _, a := range strings.Split(cfg.Address, ",") {
		a = strings.TrimRight(strings.TrimSpace(a), "/")
		switch {
		case strings.HasPrefix(a, "https://"):
		case strings.Contains(a, "://"):
			return nil, fmt.Errorf("auctioneerclient: address %q must be host:port or an https URL, or several comma-separated", cfg.Address)
		default:
			a = "https://" + a
		}
		if base == "" {
			base = a
		}
		hosts = append(hosts, strings.TrimPrefix(a, "https://"))
	}
	tr := &http.Transport{TLSClientConfig: cfg.TLS, MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second, ForceAttemptHTTP2: false}
	if len(hosts) > 1 {
		tr.DialContext = bbsaddr.NewDialer(hosts).DialContext
	}
	return &Client{cfg: cfg, base: base, http: &http.Client{Transport: tr, Timeout: cfg.Timeout}}, nil
}

// RequestLRPAuctions asks for the given indices of each desired LRP to be
// placed. Requests that would be refused (no indices, no rootfs, ...) are
// not sent; they are logged and returned in the error after the rest are.
func (c *Client) RequestLRPAuctions(ctx context.Context, reqs []service.LRPStartRequest) error {
	starts := make([]auctionapi.LRPStartRequest, 0, len(reqs))
	var bad []error
	for _, r := range reqs {
		if r.SchedulingInfo == nil {
			bad = append(bad, errors.New("start request without scheduling info"))
			continue
		}
		s := auctionapi.NewLRPStartRequest(r.SchedulingInfo, r.Indices)
		if err := s.Validate(); err != nil {
			bad = append(bad, fmt.Errorf("process_guid %q: %w", s.ProcessGuid, err))
			continue
		}
		starts = append(starts, s)
	}
	return errors.Join(c.invalid("LRP start requests", bad), sendAll(ctx, c, auctionapi.LRPsPath, starts))
}

// RequestTaskAuctions asks for tasks to be placed; tasks that would be
// refused are handled as in RequestLRPAuctions.
func (c *Client) RequestTaskAuctions(ctx context.Context, tasks []*models.Task) error {
	starts := make([]auctionapi.TaskStartRequest, 0, len(tasks))
	var bad []error
	for _, t := range tasks {
		if t == nil {
			continue
		}
		s := auctionapi.NewTaskStartRequest(t)
		if err := s.Validate(); err != nil {
			bad = append(bad, fmt.Errorf("task_guid %q: %w", t.TaskGuid, err))
			continue
		}
		starts = append(starts, s)
	}
	return errors.Join(c.invalid("task start requests", bad), sendAll(ctx, c, auctionapi.TasksPath, starts))
}

func (c *Client) invalid(what string, bad []error) error {
	if len(bad) == 0 {
		return nil
	}
	err := fmt.Errorf("not sending %d invalid %s: %w", len(bad), what, errors.Join(bad...))
	c.cfg.Logger.Error("invalid start requests not sent to the auctioneer", "kind", what, "count", len(bad), "error", err)
	return err
}

// sendAll posts items in chunks of at most MaxPerRequest.
func sendAll[T any](ctx context.Context, c *Client, path string, items []T) error {
	for len(items) > 0 {
		n := min(len(items), c.cfg.MaxPerRequest)
		body, err := json.Marshal(items[:n])
		if err != nil {
			return fmt.Errorf("encoding start requests: %w", err)
		}
		if err := c.post(ctx, path, body); err != nil {
			return fmt.Errorf("%d start requests not sent: %w", len(items), err)
		}
		items = items[n:]
	}
	return nil
}

// post sends one body, retrying only when no answer arrived.
func (c *Client) post(ctx context.Context, path string, body []byte) error {
	var err error
	for attempt := 1; attempt <= c.cfg.Attempts; attempt++ {
		if attempt > 1 {
			select {
			case <-ctx.Done():
				return errors.Join(err, ctx.Err())
			case <-time.After(c.cfg.RetryWait):
			}
		}
		var req *http.Request
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("building auctioneer request: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		var resp *http.Response
		resp, err = c.http.Do(req)
		if err != nil {
			err = fmt.Errorf("calling the auctioneer at %s: %w", c.base, err)
			c.cfg.Logger.Warn("auctioneer request failed", "path", path, "attempt", attempt, "error", err)
			if ctx.Err() != nil {
				return err
			}
			continue
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode == http.StatusAccepted {
			return nil
		}
		var eb auctionapi.ErrorBody
		if json.Unmarshal(msg, &eb) == nil && eb.Error != "" {
			msg = []byte(eb.Error)
		}
		return fmt.Errorf("auctioneer answered %s to POST %s: %s", resp.Status, path, bytes.TrimSpace(msg))
	}
	return err
}
