package locket_test

import (
	"context"
	"testing"
	"time"

	"code.cloudfoundry.org/locket/models"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/locket/lockettest"
)

// TestDialSeveralAddresses: a client given two Locket servers uses the one
// that answers and moves to the other when it stops.
func TestDialSeveralAddresses(t *testing.T) {
	svc, _ := lockettest.New(t)
	m := testutil.MutualTLS(t)
	a, stopA := lockettest.Serve(t, svc, m.Server)
	b, _ := lockettest.Serve(t, svc, m.Server)
	conn, err := locket.Dial(a+", "+b, m.Client)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	lock := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := conn.Lock(ctx, &models.LockRequest{TtlInSeconds: 10, Resource: &models.Resource{
			Key: "k", Owner: "o", Value: "v", Type: models.LockType, TypeCode: models.LOCK}})
		return err
	}
	if err := lock(); err != nil {
		t.Fatalf("lock through the first server: %v", err)
	}
	stopA()
	testutil.Eventually(t, 20*time.Second, "a lock refresh through the second server", func() (bool, string) {
		err := lock()
		return err == nil, errString(err)
	})
	if _, err := locket.Dial("127.0.0.1:1,nope", m.Client); err == nil {
		t.Fatal("Dial with a bad address in the list: no error")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
