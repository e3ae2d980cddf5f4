package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	locketmodels "code.cloudfoundry.org/locket/models"

	"github.com/diego-go/diego/src/cli/render"
)

func locks(ctx context.Context, c *call) error {
	return listResources(ctx, c, locketmodels.LockType, locketmodels.LOCK)
}

func presences(ctx context.Context, c *call) error {
	return listResources(ctx, c, locketmodels.PresenceType, locketmodels.PRESENCE)
}

func listResources(ctx context.Context, c *call, typ string, code locketmodels.TypeCode) error {
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	client, done, err := c.locket()
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := client.FetchAll(ctx, &locketmodels.FetchAllRequest{Type: typ, TypeCode: code})
	if err != nil {
		return fmt.Errorf("listing %ss: %w", typ, err)
	}
	return render.Print(c.stdout, c.format, resp.Resources, render.ResourceHeader, render.ResourceRow)
}

func claimLock(ctx context.Context, c *call) error {
	return claim(ctx, c, locketmodels.LockType, locketmodels.LOCK)
}

func claimPresence(ctx context.Context, c *call) error {
	return claim(ctx, c, locketmodels.PresenceType, locketmodels.PRESENCE)
}

// resourceFlags registers --key and --owner (and, for claims, --value, --ttl).
func resourceFlags(c *call, claim bool) (key, owner, value, ttl *string) {
	key, owner, value, ttl = new(string), new(string), new(string), new(string)
	c.str(key, "key", "k", "", "the key (required)")
	c.str(owner, "owner", "", "", "the owner (required; -o is --output here)")
	if claim {
		c.str(value, "value", "v", "", "the value stored with the key")
		c.str(ttl, "ttl", "t", "", "seconds the claim lasts unless renewed (required, > 0)")
	}
	return key, owner, value, ttl
}

func claim(ctx context.Context, c *call, typ string, code locketmodels.TypeCode) error {
	key, owner, value, ttlArg := resourceFlags(c, true)
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	if *key == "" || *owner == "" {
		return c.usageError(errors.New("--key and --owner are required"))
	}
	ttl, err := strconv.ParseInt(*ttlArg, 10, 64)
	if err != nil || ttl <= 0 {
		return c.usageError(errors.New("--ttl must be an integer number of seconds greater than zero"))
	}
	client, done, err := c.locket()
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err = client.Lock(ctx, &locketmodels.LockRequest{
		Resource:     &locketmodels.Resource{Key: *key, Owner: *owner, Value: *value, Type: typ, TypeCode: code},
		TtlInSeconds: ttl,
	})
	if err != nil {
		return fmt.Errorf("claiming %s %s: %w", typ, *key, err)
	}
	return nil
}

func releaseLock(ctx context.Context, c *call) error {
	key, owner, _, _ := resourceFlags(c, false)
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	if *key == "" || *owner == "" {
		return c.usageError(errors.New("--key and --owner are required"))
	}
	client, done, err := c.locket()
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err = client.Release(ctx, &locketmodels.ReleaseRequest{Resource: &locketmodels.Resource{Key: *key, Owner: *owner}})
	if err != nil {
		return fmt.Errorf("releasing %s: %w", *key, err)
	}
	return nil
}
