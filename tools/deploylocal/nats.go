package deploylocal

import (
	"fmt"
	"net"
	"strconv"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/diego-go/diego/tools/internal/boshrel"
)

// natsAuth returns the NATS user and password the manifest's route_emitter
// jobs of this release connect with (diego.route_emitter.nats.user and
// password); empty when none sets them.
func natsAuth(m *boshrel.Manifest) (user, password string) {
	for _, ig := range m.InstanceGroups {
		for _, ref := range ig.Jobs {
			if ref.Name != "route_emitter" || ref.Release != ReleaseName {
				continue
			}
			diego, _ := ref.Properties["diego"].(map[interface{}]interface{})
			re, _ := diego["route_emitter"].(map[interface{}]interface{})
			n, _ := re["nats"].(map[interface{}]interface{})
			if u, ok := n["user"].(string); ok && u != "" {
				p, _ := n["password"].(string)
				return u, p
			}
		}
	}
	return "", ""
}

// startNATS runs an embedded NATS server (the nats-server library, the
// version the project's go.mod pins) on listen, plain TCP, with user and
// password when user is set: the NATS that cf-deployment's nats instance
// group would be, for the route emitters (ops-files/test/local-deployment.yml
// points them at GATEWAY:4222).
func startNATS(listen, user, password string) (*natsserver.Server, error) {
	host, portText, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("NATS address %q must be host:port: %w", listen, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("NATS address %q: port: %w", listen, err)
	}
	opts := &natsserver.Options{Host: host, Port: port, Username: user, Password: password,
		NoLog: true, NoSigs: true, MaxControlLine: 4096}
	s, err := natsserver.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("NATS server on %s: %w", listen, err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("NATS server on %s did not accept connections within 10s (is the port in use?)", listen)
	}
	return s, nil
}
