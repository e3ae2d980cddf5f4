package locket

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"code.cloudfoundry.org/locket/models"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

// Server limits' defaults.
const (
	// DefaultHandshakeTimeout bounds a new connection's TLS and HTTP/2
	// handshake (gRPC's own default is 120 s).
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultMaxConcurrentStreams bounds the calls one connection may have
	// running at once (lock holders make one call at a time, a few when a
	// refresh is slow).
	DefaultMaxConcurrentStreams = 100
)

// ServerLimits bounds what a client connection can hold on the server.
type ServerLimits struct {
	// HandshakeTimeout: a connection that has not completed its TLS and
	// HTTP/2 handshake by then is closed. 0 means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxConcurrentStreams per connection; 0 means DefaultMaxConcurrentStreams.
	MaxConcurrentStreams uint32
}

func (l ServerLimits) withDefaults() ServerLimits {
	if l.HandshakeTimeout == 0 {
		l.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if l.MaxConcurrentStreams == 0 {
		l.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	return l
}

// NewGRPCServer is NewGRPCServerWithLimits with the default limits.
func NewGRPCServer(svc *Service, tlsConfig *tls.Config) *grpc.Server {
	return NewGRPCServerWithLimits(svc, tlsConfig, ServerLimits{})
}

// NewGRPCServerWithLimits returns a gRPC server offering svc as the Locket
// service over tlsConfig (typically pki.ServerTLSConfig), within limits.
// Mutual TLS is enforced whatever tlsConfig says: a copy is made that
// requires and verifies a client certificate (against tlsConfig.ClientCAs)
// and TLS 1.2 or later. A nil tlsConfig panics: there is no plaintext
// Locket. The caller runs Serve on a listener and GracefulStop to stop.
func NewGRPCServerWithLimits(svc *Service, tlsConfig *tls.Config, limits ServerLimits) *grpc.Server {
	if tlsConfig == nil {
		panic("locket: NewGRPCServer needs a TLS config (Locket requires mutual TLS)")
	}
	limits = limits.withDefaults()
	cfg := tlsConfig.Clone()
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	cfg.MinVersion = max(cfg.MinVersion, tls.VersionTLS12)
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(cfg)),
		// A connection that never finishes its handshake is closed.
		grpc.ConnectionTimeout(limits.HandshakeTimeout),
		grpc.MaxConcurrentStreams(limits.MaxConcurrentStreams),
		// Clients (the reference's included) may ping every 10 s, also
		// between calls; allow it rather than closing their connections.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		// Find and drop connections to vanished clients.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.ChainUnaryInterceptor(recoverPanics(svc.log)),
	)
	models.RegisterLocketServer(srv, svc)
	return srv
}

// recoverPanics turns a panic in a handler into an Internal error instead
// of killing the process (and every lock holder's connection with it).
func recoverPanics(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				log.Error("panic serving request", "method", info.FullMethod, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				resp, err = nil, status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(ctx, req)
	}
}
