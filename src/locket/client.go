package locket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"code.cloudfoundry.org/locket/models"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
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

// Dial prepares a connection to the Locket server at addr ("host:port")
// using tlsConfig (from pki.ClientTLSConfig: our certificate and the CA the
// server's must chain to). It connects lazily and reconnects as needed, so
// it succeeds while the server is down; calls fail until it is up.
func Dial(addr string, tlsConfig *tls.Config) (*Conn, error) {
	if tlsConfig == nil {
		return nil, errors.New("locket: Dial needs a TLS config (Locket requires mutual TLS)")
	}
	cc, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second}),
	)
	if err != nil {
		return nil, fmt.Errorf("locket: dialing %s: %w", addr, err)
	}
	return &Conn{Client: NewGRPCClient(models.NewLocketClient(cc)), cc: cc}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.cc.Close() }
