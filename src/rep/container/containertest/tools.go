package containertest

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/diego-go/diego/src/internal/testutil"
	"github.com/diego-go/diego/src/rep/container"
)

// ReadLine connects to addr and returns the first line it sends.
func ReadLine(addr string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	return bufio.NewReader(conn).ReadString('\n')
}

// RunOutput runs spec in c and returns its exit status and combined
// output; any error fails the test.
func RunOutput(t testing.TB, c container.Container, spec container.ProcessSpec) (int, string) {
	t.Helper()
	out := &testutil.SyncBuffer{}
	p, err := c.Run(t.Context(), spec, container.ProcessIO{Stdout: out, Stderr: out})
	if err != nil {
		t.Fatal(err)
	}
	status, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return status, out.String()
}
