package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	locketmodels "code.cloudfoundry.org/locket/models"
)

// The Locket commands' requests and calls; their rows are in commands.go.

// resourceType is a kind of Locket resource: locks or presences.
type resourceType struct {
	name string
	code locketmodels.TypeCode
}

var (
	lockKind     = resourceType{locketmodels.LockType, locketmodels.LOCK}
	presenceKind = resourceType{locketmodels.PresenceType, locketmodels.PRESENCE}
)

func fetchAll(ctx context.Context, k *conn, t resourceType) ([]*locketmodels.Resource, error) {
	resp, err := k.locket.FetchAll(ctx, &locketmodels.FetchAllRequest{Type: t.name, TypeCode: t.code})
	if err != nil {
		return nil, err
	}
	return resp.Resources, nil
}

func listing(t resourceType) string { return "listing " + t.name + "s" }

// resourceFlags registers --key and --owner (and, for claims, --value, --ttl)
// and returns what checks them.
func resourceFlags(c *call, claim bool) (r *locketmodels.Resource, ttl *string, check func() error) {
	r, ttl = &locketmodels.Resource{}, new(string)
	c.str(&r.Key, "key", "k", "", "the key (required)")
	c.str(&r.Owner, "owner", "", "", "the owner (required; -o is --output here)")
	if claim {
		c.str(&r.Value, "value", "v", "", "the value stored with the key")
		c.str(ttl, "ttl", "t", "", "seconds the claim lasts unless renewed (required, > 0)")
	}
	return r, ttl, func() error {
		if r.Key == "" || r.Owner == "" {
			return errors.New("--key and --owner are required")
		}
		return nil
	}
}

// claimRequest is claim-lock's and claim-presence's request for a t.
func claimRequest(t resourceType) func(*call) func([]string) (*locketmodels.LockRequest, error) {
	return func(c *call) func([]string) (*locketmodels.LockRequest, error) {
		r, ttlArg, check := resourceFlags(c, true)
		return func([]string) (*locketmodels.LockRequest, error) {
			if err := check(); err != nil {
				return nil, err
			}
			ttl, err := strconv.ParseInt(*ttlArg, 10, 64)
			if err != nil || ttl <= 0 {
				return nil, errors.New("--ttl must be an integer number of seconds greater than zero")
			}
			r.Type, r.TypeCode = t.name, t.code
			return &locketmodels.LockRequest{Resource: r, TtlInSeconds: ttl}, nil
		}
	}
}

func claim(ctx context.Context, k *conn, req *locketmodels.LockRequest) (nothing, error) {
	_, err := k.locket.Lock(ctx, req)
	return nothing{}, err
}

func claiming(req *locketmodels.LockRequest) string {
	return fmt.Sprintf("claiming %s %s", req.Resource.Type, req.Resource.Key)
}

func releaseRequest(c *call) func([]string) (*locketmodels.ReleaseRequest, error) {
	r, _, check := resourceFlags(c, false)
	return func([]string) (*locketmodels.ReleaseRequest, error) {
		return &locketmodels.ReleaseRequest{Resource: r}, check()
	}
}

func release(ctx context.Context, k *conn, req *locketmodels.ReleaseRequest) (nothing, error) {
	_, err := k.locket.Release(ctx, req)
	return nothing{}, err
}

func releasing(req *locketmodels.ReleaseRequest) string { return "releasing " + req.Resource.Key }
