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

	SubjectInternalRegister   = "service-discovery.register"
	SubjectInternalUnregister = "service-discovery.unregister"
)

// Service is who a scheduler greets and re-registers with: the gorouters
// (prefix "router") or service discovery (prefix "service-discovery"), as
// the reference's two route broadcast schedulers.
type Service struct {
	// Prefix names the subjects PREFIX.greet, PREFIX.start and PREFIX.register.
	Prefix string
	// Registrations returns everything to re-register periodically.
	Registrations func() []table.RegistryMessage
}

// Config tunes the greeting; zero values take the defaults.
type Config struct {
	// GreetRetry is how long to wait for a router.start before greeting again (default 1s, as the reference).
	GreetRetry time.Duration
	// MaxGreetAttempts is how many greetings go unanswered before Run fails (default 30, as the reference).
	MaxGreetAttempts int
	// FallbackInterval, when positive, keeps Run going after
	// MaxGreetAttempts unanswered greetings: it re-registers on this
	// interval until a PREFIX.start announces one. Zero fails instead, as
	// the reference does.
	FallbackInterval time.Duration
	// EmitInternal publishes the internal messages on the service-discovery
	// subjects (the reference's enable_internal_emitter); off, they are dropped.
	EmitInternal bool
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
	if c.GreetRetry < 0 || c.MaxGreetAttempts < 0 || c.FallbackInterval < 0 {
		return errors.New("natsemitter: GreetRetry, MaxGreetAttempts and FallbackInterval must not be negative")
	}
	return nil
}

// greeting is router.start's body and the reply to router.greet.
type greeting struct {
	MinimumRegisterInterval int `json:"minimumRegisterIntervalInSeconds"`
	PruneThresholdInSeconds int `json:"pruneThresholdInSeconds"`
}

// maxRegisterInterval bounds the re-registration interval a router may ask
// for. Without it a large number of seconds overflowed time.Duration into
// any value: 20211507185753197 s became 512 ns, a re-registration loop.
const maxRegisterInterval = 24 * time.Hour

// registerInterval is the interval a router.start or greeting reply asks
// for, or an error saying why the message cannot be used.
func registerInterval(data []byte) (time.Duration, error) {
	var g greeting
	if err := json.Unmarshal(data, &g); err != nil {
		return 0, err
	}
	if max := int64(maxRegisterInterval / time.Second); g.MinimumRegisterInterval <= 0 || int64(g.MinimumRegisterInterval) > max {
		return 0, fmt.Errorf("minimumRegisterIntervalInSeconds %d is not between 1 and %d", g.MinimumRegisterInterval, max)
	}
	return time.Duration(g.MinimumRegisterInterval) * time.Second, nil
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
// router.unregister, one message per route and endpoint, and with
// EmitInternal the internal ones on service-discovery.register and
// service-discovery.unregister.
func (e *Emitter) Emit(m table.Messages) error {
	if err := e.publish(SubjectRegister, m.Registrations); err != nil {
		return err
	}
	if err := e.publish(SubjectUnregister, m.Unregistrations); err != nil {
		return err
	}
	if !e.cfg.EmitInternal {
		return nil
	}
	if err := e.publish(SubjectInternalRegister, m.InternalRegistrations); err != nil {
		return err
	}
	return e.publish(SubjectInternalUnregister, m.InternalUnregistrations)
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
// ends, or fails when no router answers MaxGreetAttempts greetings (unless
// FallbackInterval is set).
func (e *Emitter) Run(ctx context.Context, registrations func() []table.RegistryMessage) error {
	return e.Schedule(ctx, Service{Prefix: "router", Registrations: registrations})
}

// Schedule is Run for any service: it greets on PREFIX.greet, listens on
// PREFIX.start and re-registers on PREFIX.register.
func (e *Emitter) Schedule(ctx context.Context, svc Service) error {
	subjectGreet, subjectStart, subjectRegister := svc.Prefix+".greet", svc.Prefix+".start", svc.Prefix+".register"
	intervals := make(chan time.Duration, 4)
	onStart := func(msg *nats.Msg) {
		d, err := registerInterval(msg.Data)
		if err != nil {
			e.log.Error("route-emitter: invalid "+subjectStart, "payload", string(msg.Data), "err", err)
			return
		}
		select {
		case intervals <- d:
		default:
		}
	}
	startSub, err := e.nc.Subscribe(subjectStart, onStart)
	if err != nil {
		return fmt.Errorf("natsemitter: subscribing to %s: %w", subjectStart, err)
	}
	defer startSub.Unsubscribe()
	inbox := e.nc.NewRespInbox()
	replySub, err := e.nc.Subscribe(inbox, onStart)
	if err != nil {
		return fmt.Errorf("natsemitter: subscribing to the greeting inbox: %w", err)
	}
	defer replySub.Unsubscribe()

	interval, err := e.greet(ctx, subjectGreet, inbox, intervals)
	if err != nil && e.cfg.FallbackInterval > 0 {
		e.log.Error("route-emitter: nobody answered the greetings; re-registering on the fallback interval until a "+subjectStart+" arrives",
			"err", err, "interval", e.cfg.FallbackInterval)
		interval, err = e.cfg.FallbackInterval, nil
	}
	if err != nil || interval == 0 {
		return err
	}
	registrations := func() { e.reregister(subjectRegister, svc.Registrations) }
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
			registrations()
		case <-ticker.C:
			registrations()
		}
	}
}

func (e *Emitter) greet(ctx context.Context, subject, inbox string, intervals <-chan time.Duration) (time.Duration, error) {
	retry := time.NewTicker(e.cfg.GreetRetry)
	defer retry.Stop()
	for attempt := 1; ; attempt++ {
		if err := e.nc.PublishRequest(subject, inbox, nil); err != nil {
			return 0, fmt.Errorf("natsemitter: publishing %s: %w", subject, err)
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
			return 0, fmt.Errorf("natsemitter: greeted %s %d times without an answer; check that its servers are connected to this NATS", subject, attempt)
		}
	}
}

func (e *Emitter) reregister(subject string, registrations func() []table.RegistryMessage) {
	if err := e.publish(subject, registrations()); err != nil {
		e.log.Error("route-emitter: periodic re-registration failed", "err", err)
	}
}
