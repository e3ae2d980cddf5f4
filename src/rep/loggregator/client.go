// Package loggregator sends app log lines as Loggregator v2 envelopes to a
// local agent over gRPC with mutual TLS, batched, bounded and never blocking.
package loggregator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	v2 "code.cloudfoundry.org/go-loggregator/v8/rpc/loggregator_v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/diego-go/diego/src/internal/serve"
)

// Config says where the agent is and how envelopes are batched.
type Config struct {
	// Address is the agent's gRPC ingress, host:port (the reference's
	// loggregator.api_port on localhost, 3458).
	Address string
	// TLS is the mutual TLS client configuration (pki.ClientTLSConfig).
	TLS *tls.Config
	// BufferSize bounds the envelopes waiting to be sent; beyond it lines are dropped.
	BufferSize int
	// BatchSize is the most envelopes sent in one batch.
	BatchSize int
	// BatchInterval is the longest an envelope waits for its batch to fill.
	BatchInterval time.Duration
	// RetryInterval is the wait between failed connection attempts.
	RetryInterval time.Duration
	Logger        *slog.Logger
}

// Defaults of Config.
const (
	DefaultBufferSize    = 10000
	DefaultBatchSize     = 100
	DefaultBatchInterval = time.Second
	DefaultRetryInterval = time.Second
)

func (c Config) withDefaults() Config {
	if c.BufferSize == 0 {
		c.BufferSize = DefaultBufferSize
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BatchInterval == 0 {
		c.BatchInterval = DefaultBatchInterval
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = DefaultRetryInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports a configuration the client cannot run with.
func (c Config) Validate() error {
	switch {
	case c.Address == "":
		return errors.New("loggregator: agent address is empty; set loggregator.agent_address")
	case c.TLS == nil:
		return errors.New("loggregator: no TLS configuration; set loggregator ca_file, cert_file and key_file")
	case c.BufferSize < 0 || c.BatchSize < 0 || c.BatchInterval < 0 || c.RetryInterval < 0:
		return errors.New("loggregator: buffer size, batch size and intervals must not be negative")
	}
	return nil
}

// Client buffers envelopes and sends them from one goroutine.
type Client struct {
	cfg     Config
	conn    *grpc.ClientConn
	queue   chan *v2.Envelope
	dropped atomic.Uint64
	sent    atomic.Uint64
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

// New starts a client; Close stops it. The connection is made lazily and
// remade after failures, so an absent agent is not an error here.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	conn, err := grpc.NewClient(cfg.Address, grpc.WithTransportCredentials(credentials.NewTLS(cfg.TLS)))
	if err != nil {
		return nil, fmt.Errorf("loggregator: dialing %s: %w", cfg.Address, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{cfg: cfg, conn: conn, queue: make(chan *v2.Envelope, cfg.BufferSize), cancel: cancel, done: make(chan struct{})}
	go c.run(ctx)
	return c, nil
}

// Dropped is how many envelopes were dropped because the buffer was full.
func (c *Client) Dropped() uint64 { return c.dropped.Load() }

// Sent is how many envelopes the agent's stream accepted.
func (c *Client) Sent() uint64 { return c.sent.Load() }

// Emit queues e without blocking; when the buffer is full e is dropped and
// counted.
func (c *Client) Emit(e *v2.Envelope) {
	select {
	case c.queue <- e:
	default:
		c.dropped.Add(1)
	}
}

// Close stops sending; envelopes still buffered are discarded.
func (c *Client) Close() error {
	c.once.Do(func() {
		c.cancel()
		<-c.done
	})
	return c.conn.Close()
}

// run collects batches and sends them on a BatchSender stream, opening a
// new stream after any failure. A batch whose send failed is retried once on
// a new stream, then dropped and counted, so a broken agent cannot hold the
// buffer; while no stream opens, the buffer fills and Emit drops.
func (c *Client) run(ctx context.Context) {
	defer close(c.done)
	s := &sender{client: v2.NewIngressClient(c.conn), c: c}
	defer s.close()
	batch := make([]*v2.Envelope, 0, c.cfg.BatchSize)
	tick := time.NewTicker(c.cfg.BatchInterval)
	defer tick.Stop()
	for {
		flush := false
		select {
		case <-ctx.Done():
			return
		case e := <-c.queue:
			batch = append(batch, e)
			flush = len(batch) >= c.cfg.BatchSize
		case <-tick.C:
			flush = true
		}
		if !flush || len(batch) == 0 {
			continue
		}
		if !s.send(ctx, batch) {
			return
		}
		batch = batch[:0]
	}
}

// sender holds the current BatchSender stream.
type sender struct {
	client v2.IngressClient
	c      *Client
	stream v2.Ingress_BatchSenderClient
	cancel context.CancelFunc
}

// send delivers batch, reporting false only when ctx ended.
func (s *sender) send(ctx context.Context, batch []*v2.Envelope) bool {
	log := s.c.cfg.Logger
	for failures := 0; ; {
		if s.stream == nil {
			sctx, cancel := context.WithCancel(ctx)
			stream, err := s.client.BatchSender(sctx)
			if err != nil {
				cancel()
				log.Warn("loggregator: opening the ingress stream; retrying", "address", s.c.cfg.Address, "error", err)
				if !serve.Sleep(ctx, s.c.cfg.RetryInterval) { // the buffer fills and Emit drops while the agent is away
					return false
				}
				continue
			}
			s.stream, s.cancel = stream, cancel
		}
		err := s.stream.Send(&v2.EnvelopeBatch{Batch: batch})
		if err == nil {
			s.c.sent.Add(uint64(len(batch)))
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		log.Warn("loggregator: sending a batch; reconnecting", "address", s.c.cfg.Address, "error", err)
		s.close()
		if failures++; failures > 1 {
			s.c.dropped.Add(uint64(len(batch)))
			return true
		}
	}
}

func (s *sender) close() {
	if s.cancel != nil {
		s.cancel()
	}
	s.stream, s.cancel = nil, nil
}
