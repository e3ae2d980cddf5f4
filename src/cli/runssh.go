package cli

import (
	"errors"
	"fmt"
	"strconv"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/sshproxy"
)

// sshdPort is the container port diego-sshd listens on, as Cloud
// Controller sets it.
const sshdPort = 2222

// sshdBundleURL is the diego-sshd bundle on the target file's file
// server, for --ssh.
func (c *call) sshdBundleURL() (string, error) {
	s, err := c.settings()
	if err != nil {
		return "", err
	}
	if s.Target == "" {
		return "", errors.New("run --ssh: no target file: diego-sshd comes from `diego up`'s file server (set DIEGO_TARGET or --target), or pass --sshd-bundle-url")
	}
	if url := s.File.SSHDBundleURL(); url != "" {
		return url, nil
	}
	return "", fmt.Errorf("run --ssh: %s names no file_server_url: restart `diego up`, or pass --sshd-bundle-url", s.Target)
}

// withSSH makes lrp reachable with `diego ssh`, as Cloud Controller does
// for an app with SSH on: the diego-sshd bundle as a cached dependency at
// /tmp/lifecycle, diego-sshd run codependently with the app on container
// port 2222, and the diego-ssh route holding the proxy's key and the
// daemon's host fingerprint.
func withSSH(lrp *models.DesiredLRP, bundleURL string) error {
	keys, err := sshproxy.NewInstanceKeys()
	if err != nil {
		return err
	}
	args := keys.SSHDArgs(sshdPort)
	// $PORT, which names the container port here, becomes the host port on
	// a backend without network isolation (process); diego-sshd expands it.
	args[0] = "-address=0.0.0.0:$PORT"
	sshd := &models.RunAction{
		Path: "/tmp/lifecycle/diego-sshd", Args: args, User: lrp.Action.RunAction.GetUser(),
		Env: []*models.EnvironmentVariable{{Name: "PORT", Value: strconv.Itoa(sshdPort)}},
	}
	lrp.Ports = append(lrp.Ports, sshdPort)
	lrp.CachedDependencies = append(lrp.CachedDependencies, &models.CachedDependency{
		Name: "diego-sshd", From: bundleURL, To: "/tmp/lifecycle", CacheKey: "diego-sshd-" + bundleURL,
	})
	lrp.Action = models.WrapAction(models.Codependent(lrp.Action.RunAction, sshd))
	route := keys.Route(sshdPort)
	if lrp.Routes == nil {
		lrp.Routes = &models.Routes{}
	}
	(*lrp.Routes)["diego-ssh"] = &route
	return nil
}
