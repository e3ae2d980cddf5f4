package cluster

import (
	"context"
	"net"
	"strconv"

	hubdaemon "github.com/diego-go/diego/src/hub/daemon"
	"github.com/diego-go/diego/src/internal/jsonconfig"
	"github.com/diego-go/diego/src/target"
)

// hubOffset is the Hub's port above the port base (diego up runs it unless
// --no-hub).
const hubOffset = 8

// hubAddr is on loopback even when the control plane listens on a bridge
// (--ha as root): the Hub runs on this machine, so it needs no login.
func (l layout) hubAddr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(l.opts.PortBase+hubOffset))
}
func (l layout) hubURL() string { return "http://" + l.hubAddr() }

// hubConfig is the Hub's: on the control plane's host (loopback without
// network namespaces, so no login), with the admin client certificate (the
// rotation view reads the BBS admin status), the components' Prometheus
// endpoints, the cells' local APIs for the drain action and the apps' log
// directory.
func (l layout) hubConfig() hubdaemon.Config {
	cfg := hubdaemon.DefaultConfig()
	cfg.ListenAddress = l.hubAddr()
	cfg.BBS = hubdaemon.BBSConfig{URL: l.bbsURLs(), CACert: l.certs.CACert, ClientCert: l.certs.AdminCert, ClientKey: l.certs.AdminKey}
	cfg.LocketAddress = l.locketAddrs(0)
	cfg.AuctioneerURL = "https://" + l.auctioneerAddr()
	cfg.MetricsURLs = l.metricsURLs()
	cfg.LogDir = l.appLogDir()
	cfg.PollInterval = jsonconfig.Duration(hubdaemon.MinPollInterval)
	cfg.CellLocalURLs = map[string]string{}
	for i := 0; i < l.opts.Cells; i++ {
		cfg.CellLocalURLs[l.cellID(i)] = "http://" + l.localAddr(i)
	}
	return cfg
}

// hubConfigs adds the Hub's config unless --no-hub.
func (c *Cluster) hubConfigs(configs map[string]any) {
	if !c.opts.NoHub {
		configs["hub"] = c.l.hubConfig()
	}
}

// startHub starts the Hub (unless --no-hub) and waits for it to listen.
func (c *Cluster) startHub(ctx context.Context) error {
	if c.edge.hub == nil {
		return nil
	}
	l := c.l
	return c.startWait(ctx, c.edge.hub, "hub on "+l.hubURL()+" (the web UI)", func() error { return dialOK(l.hubAddr()) })
}

// describeHub adds the Hub's URL to the target file.
func (e *edge) describeHub(l layout, t *target.File) {
	if e.hub != nil {
		t.HubURL = l.hubURL()
	}
}
