package identity_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/rep/identity"
)

func TestKeyPoolFillsAndHandsOutEachKeyOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pool := identity.NewKeyPool(ctx, 3)
	defer func() { cancel(); pool.Wait() }()
	testutil.Eventually(t, time.Minute, "the pool holds 3 keys", func() (bool, string) {
		return pool.Ready() == 3, fmt.Sprintf("%d ready", pool.Ready())
	})
	seen := map[string]bool{}
	for i := 0; i < 5; i++ { // 3 from the pool, then generated (or refilled)
		key, err := pool.Get()
		if err != nil {
			t.Fatal(err)
		}
		if key.N.BitLen() != 2048 {
			t.Fatalf("key of %d bits, want 2048", key.N.BitLen())
		}
		n := key.N.String()
		if seen[n] {
			t.Fatal("the pool handed out the same key twice")
		}
		seen[n] = true
	}
}

func TestKeyPoolStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pool := identity.NewKeyPool(ctx, 1)
	cancel()
	pool.Wait() // returns: the filler stopped
	if _, err := pool.Get(); err != nil {
		t.Fatalf("Get after stop still generates: %v", err)
	}
}

func TestIssuerTakesKeysFromItsPool(t *testing.T) {
	iss := newIssuer(t, time.Now(), time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	iss.Keys = identity.NewKeyPool(ctx, 2)
	testutil.Eventually(t, time.Minute, "the pool holds 2 keys", func() (bool, string) {
		return iss.Keys.Ready() == 2, fmt.Sprintf("%d ready", iss.Keys.Ready())
	})
	cancel()
	iss.Keys.Wait() // no refill from here on
	if _, err := iss.Issue(identity.Subject{GUID: "g", IP: "10.0.0.2"}); err != nil {
		t.Fatal(err)
	}
	if got := iss.Keys.Ready(); got != 1 {
		t.Fatalf("%d keys left in the pool after issuing one credential, want 1", got)
	}
}
