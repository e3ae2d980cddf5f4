package serve

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/diego-go/diego/src/internal/jsonconfig"
)

// Limits bound what one client can hold of an HTTP server: how long it may
// take to send a request, how long a response may take, how long an idle
// keep-alive connection stays open, how large the request header may be and
// how many connections are served at once. A zero field takes its default
// (DefaultLimits, or the component's own defaults through Or); a negative
// duration or max_connections turns that limit off.
type Limits struct {
	// ReadHeaderTimeout bounds the TLS handshake and the request line and
	// headers: a client that connects and sends nothing, or never finishes
	// TLS, or sends its headers a byte at a time, is disconnected after it.
	ReadHeaderTimeout jsonconfig.Duration `json:"read_header_timeout,omitempty"`
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout jsonconfig.Duration `json:"read_timeout,omitempty"`
	// WriteTimeout bounds a request from the end of its headers to the end
	// of its response. Event streams are exempt (see Streams).
	WriteTimeout jsonconfig.Duration `json:"write_timeout,omitempty"`
	// IdleTimeout closes a keep-alive connection with no request for this long.
	IdleTimeout jsonconfig.Duration `json:"idle_timeout,omitempty"`
	// MaxHeaderBytes bounds the request line and headers; a larger header
	// is answered 431 Request Header Fields Too Large.
	MaxHeaderBytes int `json:"max_header_bytes,omitempty"`
	// MaxConnections bounds the connections served at once; further
	// connections wait in the listen queue until one closes.
	MaxConnections int `json:"max_connections,omitempty"`
}

// DefaultLimits are the limits of a field left unset.
var DefaultLimits = Limits{
	ReadHeaderTimeout: jsonconfig.Duration(10 * time.Second),
	ReadTimeout:       jsonconfig.Duration(time.Minute),
	WriteTimeout:      jsonconfig.Duration(5 * time.Minute),
	IdleTimeout:       jsonconfig.Duration(2 * time.Minute),
	MaxHeaderBytes:    64 << 10,
	MaxConnections:    10000,
}

// Or returns l with every zero field taken from def.
func (l Limits) Or(def Limits) Limits {
	or := func(v, d jsonconfig.Duration) jsonconfig.Duration {
		if v == 0 {
			return d
		}
		return v
	}
	l.ReadHeaderTimeout = or(l.ReadHeaderTimeout, def.ReadHeaderTimeout)
	l.ReadTimeout = or(l.ReadTimeout, def.ReadTimeout)
	l.WriteTimeout = or(l.WriteTimeout, def.WriteTimeout)
	l.IdleTimeout = or(l.IdleTimeout, def.IdleTimeout)
	if l.MaxHeaderBytes == 0 {
		l.MaxHeaderBytes = def.MaxHeaderBytes
	}
	if l.MaxConnections == 0 {
		l.MaxConnections = def.MaxConnections
	}
	return l
}

// Validate reports settings that cannot work; prefix names the config
// property holding l (e.g. "server_limits").
func (l Limits) Validate(prefix string) error {
	var errs []error
	if l.MaxHeaderBytes < 0 {
		errs = append(errs, fmt.Errorf("%s.max_header_bytes %d must be 0 (default %d) or more", prefix, l.MaxHeaderBytes, DefaultLimits.MaxHeaderBytes))
	} else if l.MaxHeaderBytes > 0 && l.MaxHeaderBytes < 1024 {
		errs = append(errs, fmt.Errorf("%s.max_header_bytes %d is too small for any client's request: use at least 1024", prefix, l.MaxHeaderBytes))
	}
	if rh, r := time.Duration(l.ReadHeaderTimeout), time.Duration(l.ReadTimeout); rh > 0 && r > 0 && r < rh {
		errs = append(errs, fmt.Errorf("%s.read_timeout %s is shorter than read_header_timeout %s, which it includes: raise it", prefix, r, rh))
	}
	return errors.Join(errs...)
}

func positive(d jsonconfig.Duration) time.Duration { return max(time.Duration(d), 0) }

// Apply sets srv's timeouts and header limit from l (unset fields taking
// DefaultLimits) and returns srv. The TLS handshake is bounded by the
// shortest of the timeouts.
func (l Limits) Apply(srv *http.Server) *http.Server {
	l = l.Or(DefaultLimits)
	srv.ReadHeaderTimeout = positive(l.ReadHeaderTimeout)
	srv.ReadTimeout = positive(l.ReadTimeout)
	srv.WriteTimeout = positive(l.WriteTimeout)
	srv.IdleTimeout = positive(l.IdleTimeout)
	srv.MaxHeaderBytes = l.MaxHeaderBytes
	if srv.IdleTimeout == 0 && srv.ReadTimeout > 0 {
		// net/http would fall back to ReadTimeout; "off" means off.
		srv.IdleTimeout = 1<<63 - 1
	}
	return srv
}

// Listener bounds the connections ln hands out to l.MaxConnections (unset:
// DefaultLimits'; negative: no bound). Accept waits for a served
// connection to close before taking the next from the listen queue.
func (l Limits) Listener(ln net.Listener) net.Listener {
	n := l.Or(DefaultLimits).MaxConnections
	if n <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), done: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.slots }}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

// CloseWrite half-closes a TCP connection: net/http sends its last answer
// (e.g. 431) that way before closing.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom keeps the connection's own ReadFrom (sendfile for TCP).
func (c *limitConn) ReadFrom(r io.Reader) (int64, error) { return io.Copy(c.Conn, r) }

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// Streams exempts the requests isStream matches (server-sent event
// streams, which last as long as the client wants) from the server's write
// timeout; every other request keeps it.
func Streams(h http.Handler, isStream func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isStream(r) {
			_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		}
		h.ServeHTTP(w, r)
	})
}
