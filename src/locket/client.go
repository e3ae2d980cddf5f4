package locket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"code.cloudfoundry.org/locket/models"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"github.com/diego-go/diego/src/internal/bbsaddr"

	"github.com/diego-go/diego/src/pki"
)

// Client is what lock holders need from Locket. Errors are gRPC status
// errors with the reference's values (models.ErrLockCollision and so on)
// whether the Service is remote or in-process.
type Client interface {
	Lock(ctx context.Context, req *models.LockRequest) (*models.LockResponse, error)
	Release(ctx context.Context, req *models.ReleaseRequest) (*models.ReleaseResponse, error)
	Fetch(ctx context.Context, req *models.FetchRequest) (*models.FetchResponse, error)
	FetchAll(ctx context.Context, req *models.FetchAllRequest) (*models.FetchAllResponse, error)
}

// LocalClient returns a Client that calls s in-process (for a BBS that
// embeds its Locket), with the same validation and errors as over gRPC.
func (s *Service) LocalClient() Client { return s }

// NewGRPCClient adapts a gRPC models.LocketClient (for example one from the
// reference's locket.NewClient) to Client.
func NewGRPCClient(c models.LocketClient) Client { return grpcClient{c} }

type grpcClient struct{ c models.LocketClient }

func (c grpcClient) Lock(ctx context.Context, req *models.LockRequest) (*models.LockResponse, error) {
	return c.c.Lock(ctx, req)
}

func (c grpcClient) Release(ctx context.Context, req *models.ReleaseRequest) (*models.ReleaseResponse, error) {
	return c.c.Release(ctx, req)
}

func (c grpcClient) Fetch(ctx context.Context, req *models.FetchRequest) (*models.FetchResponse, error) {
	return c.c.Fetch(ctx, req)
}

func (c grpcClient) FetchAll(ctx context.Context, req *models.FetchAllRequest) (*models.FetchAllResponse, error) {
	return c.c.FetchAll(ctx, req)
}

// Conn is a Client over a gRPC connection to a Locket server.
type Conn struct {
	Client
	cc *grpc.ClientConn
}

// DialFiles dials Locket at addr with mutual TLS read from the PEM files a
// component's config names (locket_ca_file, locket_client_cert_file,
// locket_client_key_file).
func DialFiles(addr, caFile, certFile, keyFile string) (*Conn, error) {
	tlsCfg, err := pki.ClientTLSConfig(caFile, certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("locket client TLS (locket_ca_file, locket_client_cert_file, locket_client_key_file): %w", err)
	}
	return Dial(addr, tlsCfg)
}

// Dial prepares a connection to the Locket server at addr ("host:port", or
// several comma-separated) using tlsConfig (from pki.ClientTLSConfig: our certificate and the CA the
// server's must chain to). It connects lazily and reconnects as needed, so
// it succeeds while the server is down; calls fail until it is up.
func Dial(addr string, tlsConfig *tls.Config) (*Conn, error) {
	if tlsConfig == nil {
		return nil, errors.New("locket: Dial needs a TLS config (Locket requires mutual TLS)")
	}
	addrs, err := bbsaddr.HostPorts("locket_address", addr)
	if err != nil {
		return nil, fmt.Errorf("locket: %w", err)
	}
	target, opts := addrs[0], []grpc.DialOption{
		grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second}),
	}
	if len(addrs) > 1 {
		// Several Locket servers (all serve, over one database): calls
		// are spread over those connected (round robin), so when one dies
		// the next call (a lock refresh's retry) goes to another at once,
		// with no reconnection on its path.
		r := manual.NewBuilderWithScheme("diego-locket")
		state := resolver.State{}
		for _, a := range addrs {
			host, _, _ := net.SplitHostPort(a)
			state.Addresses = append(state.Addresses, resolver.Address{Addr: a, ServerName: host})
		}
		r.InitialState(state)
		target, opts = "diego-locket:///locket", append(opts, grpc.WithResolvers(r),
			grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`))
	}
	cc, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("locket: dialing %s: %w", addr, err)
	}
	return &Conn{Client: NewGRPCClient(models.NewLocketClient(cc)), cc: cc}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.cc.Close() }
