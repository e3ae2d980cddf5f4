package cli

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/rep"

	"github.com/diego-go/diego/src/internal/bbsaddr"
	"github.com/diego-go/diego/src/locket"
	"github.com/diego-go/diego/src/pki"
)

// requestTimeout bounds each BBS, Locket and rep request (not event streams).
const requestTimeout = 30 * time.Second

// quiet is the lager logger the reference clients require; it logs nothing.
var quiet = lager.NewLogger("diego-cli")

// bbsClient returns a client of the reference BBS API.
func (c *call) bbsClient() (bbs.Client, error) {
	s, err := c.settings()
	if err != nil {
		return nil, err
	}
	if err := s.CheckBBS(); err != nil {
		return nil, err
	}
	client, err := bbsaddr.NewClient(bbs.ClientConfig{
		URL: s.BBSURL, IsTLS: strings.HasPrefix(s.BBSURL, "https://"),
		CAFile: s.BBSCACert, CertFile: s.BBSCert, KeyFile: s.BBSKey,
		RequestTimeout: requestTimeout, Retries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("creating BBS client for %s: %w", s.BBSURL, err)
	}
	return client, nil
}

// locketClient returns a Locket client and a function closing its
// connection.
func (c *call) locketClient() (locket.Client, func(), error) {
	s, err := c.settings()
	if err != nil {
		return nil, nil, err
	}
	if err := s.CheckLocket(); err != nil {
		return nil, nil, err
	}
	tlsConfig, err := pki.ClientTLSConfig(s.LocketCACert, s.LocketCert, s.LocketKey)
	if err != nil {
		return nil, nil, fmt.Errorf("locket TLS: %w", err)
	}
	conn, err := locket.Dial(s.LocketAddress, tlsConfig)
	if err != nil {
		return nil, nil, err
	}
	return conn, func() { conn.Close() }, nil
}

// repClients returns a factory of rep clients using the BBS client certificate
// (the reference tool does the same).
func (c *call) repClients() (rep.ClientFactory, error) {
	s, err := c.settings()
	if err != nil {
		return nil, err
	}
	tlsConfig := &rep.TLSConfig{CaCertFile: s.BBSCACert, CertFile: s.BBSCert, KeyFile: s.BBSKey,
		RequireTLS: s.BBSCert != ""}
	newClient := func() *http.Client {
		return &http.Client{Transport: &http.Transport{}, Timeout: requestTimeout}
	}
	f, err := rep.NewClientFactory(newClient(), newClient(), tlsConfig)
	if err != nil {
		return nil, fmt.Errorf("creating rep client factory: %w", err)
	}
	return f, nil
}
