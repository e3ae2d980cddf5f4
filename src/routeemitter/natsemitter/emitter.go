// Package natsemitter sends the routing table's messages to the gorouters
// over NATS and re-registers every route on the interval the routers ask for.
package natsemitter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/diego-go/diego/src/routeemitter/table"
	"github.com/nats-io/nats.go"
)

// NATS subjects, as the reference route emitter and gorouter use them.
const (
	SubjectRegister   = "router.register"
	SubjectUnregister = "router.unregister"
	SubjectGreet      = "router.greet"
	SubjectStart      = "router.start"
)

// Config tunes the greeting; zero values take the defaults.
type Config struct {
	// GreetRetry is how long to wait for a router.start before greeting again (default 1s, as the reference).
	GreetRetry time.Duration
	// MaxGreetAttempts is how many greetings go unanswered before Run fails (default 30, as the reference).
	MaxGreetAttempts int
}

func (c Config) withDefaults() Config {
	if c.GreetRetry == 0 {
		c.GreetRetry = time.Second
	}
	if c.MaxGreetAttempts == 0 {
		c.MaxGreetAttempts = 30
	}
	return c
}

// Validate rejects settings that cannot work.
func (c Config) Validate() error {
	if c.GreetRetry < 0 || c.MaxGreetAttempts < 0 {
		return errors.New("natsemitter: GreetRetry and MaxGreetAttempts must not be negative")
	}
	return nil
}

// greeting is router.start's body and the reply to router.greet.
type greeting struct {
	MinimumRegisterInterval int `json:"minimumRegisterIntervalInSeconds"`
	PruneThresholdInSeconds int `json:"pruneThresholdInSeconds"`
}

// Emitter publishes registry messages on one NATS connection.
type Emitter struct {
	nc  *nats.Conn
	cfg Config
	log *slog.Logger
}

// New returns an emitter on nc; nc stays owned by the caller.
func New(nc *nats.Conn, cfg Config, log *slog.Logger) (*Emitter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	return &Emitter{nc: nc, cfg: cfg.withDefaults(), log: log}, nil
}

// Emit publishes registrations on router.register and unregistrations on
// router.unregister, one message per route and endpoint.
func (e *Emitter) Emit(m table.Messages) error {
	if err := e.publish(SubjectRegister, m.Registrations); err != nil {
		return err
	}
	return e.publish(SubjectUnregister, m.Unregistrations)
}

func (e *Emitter) publish(subject string, msgs []table.RegistryMessage) error {
	for _, m := range msgs {
		body, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("natsemitter: encoding %s: %w", subject, err)
		}
		if err := e.nc.Publish(subject, body); err != nil {
			return fmt.Errorf("natsemitter: publishing %s (is NATS reachable?): %w", subject, err)
		}
	}
	return nil
}

// Run greets the routers (router.greet, retried every GreetRetry until a
// reply or a router.start arrives), then re-registers everything
// registrations returns on the interval the routers asked for, switching to
// a new interval whenever a router.start announces one. It returns when ctx
// ends, or fails when no router answers MaxGreetAttempts greetings.
func (e *Emitter) Run(ctx context.Context, registrations func() []table.RegistryMessage) error {
	intervals := make(chan time.Duration, 4)
	onStart := func(msg *nats.Msg) {
		var g greeting
		if err := json.Unmarshal(msg.Data, &g); err != nil {
			e.log.Error("route-emitter: invalid router.start", "payload", string(msg.Data), "err", err)
			return
		}
		select {
		case intervals <- time.Duration(g.MinimumRegisterInterval) * time.Second:
		default:
		}
	}
	startSub, err := e.nc.Subscribe(SubjectStart, onStart)
	if err != nil {
		return fmt.Errorf("natsemitter: subscribing to %s: %w", SubjectStart, err)
	}
	defer startSub.Unsubscribe()
	inbox := e.nc.NewRespInbox()
	replySub, err := e.nc.Subscribe(inbox, onStart)
	if err != nil {
		return fmt.Errorf("natsemitter: subscribing to the greeting inbox: %w", err)
	}
	defer replySub.Unsubscribe()

	interval, err := e.greet(ctx, inbox, intervals)
	if err != nil || interval == 0 {
		return err
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case d := <-intervals:
			if d <= 0 {
				continue
			}
			ticker.Reset(d)
			e.reregister(registrations)
		case <-ticker.C:
			e.reregister(registrations)
		}
	}
}

func (e *Emitter) greet(ctx context.Context, inbox string, intervals <-chan time.Duration) (time.Duration, error) {
	retry := time.NewTicker(e.cfg.GreetRetry)
	defer retry.Stop()
	for attempt := 1; ; attempt++ {
		if err := e.nc.PublishRequest(SubjectGreet, inbox, nil); err != nil {
			return 0, fmt.Errorf("natsemitter: publishing %s: %w", SubjectGreet, err)
		}
		select {
		case d := <-intervals:
			if d > 0 {
				return d, nil
			}
		case <-retry.C:
		case <-ctx.Done():
			return 0, nil
		}
		if attempt >= e.cfg.MaxGreetAttempts {
			return 0, fmt.Errorf("natsemitter: greeted the routers %d times without a router.start; check that gorouter is connected to this NATS", attempt)
		}
	}
}

func (e *Emitter) reregister(registrations func() []table.RegistryMessage) {
	if err := e.publish(SubjectRegister, registrations()); err != nil {
		e.log.Error("route-emitter: periodic re-registration failed", "err", err)
	}
}
