package scalerun

import (
	"fmt"
	"net"
	"net/http"

	"github.com/diego-go/diego/src/internal/debugserver"
)

// servePprof serves this process's /debug/pprof (the simulated cells and
// the measuring clients live here) on a free loopback port until stop is
// called.
func servePprof() (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("pprof listener: %w", err)
	}
	srv := &http.Server{Handler: debugserver.Handler()}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Close() }, nil
}
