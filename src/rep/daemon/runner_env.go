package daemon

// What every container gets from the cell beyond its definition, as the
// executor adds it: trusted system certificates and instance identity
// credentials (bind mounts and environment), and the log rate limits.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"code.cloudfoundry.org/bbs/models"

	"github.com/diego-go/diego/src/rep/container"
	"github.com/diego-go/diego/src/rep/identity"
	"github.com/diego-go/diego/src/rep/lograte"
)

// credDirFailed is the executor's failure reason when a container's
// credentials directory cannot be made.
const credDirFailed = "failed to create credentials directory"

// startEnv loads the instance identity CA (when configured) and empties
// the credentials directory of containers destroyed as leftovers.
func (d *Daemon) startEnv() error {
	if d.cfg.InstanceIdentityCredDir == "" {
		return nil
	}
	iss, err := identity.NewIssuer(d.cfg.InstanceIdentityCAPath, d.cfg.InstanceIdentityPrivateKeyPath, time.Duration(d.cfg.InstanceIdentityValidityPeriod))
	if err != nil {
		return fmt.Errorf("rep config: %w", err)
	}
	if err := os.RemoveAll(d.cfg.InstanceIdentityCredDir); err != nil {
		return fmt.Errorf("emptying instance_identity_cred_dir: %w", err)
	}
	if err := os.MkdirAll(d.cfg.InstanceIdentityCredDir, 0o755); err != nil {
		return fmt.Errorf("creating instance_identity_cred_dir: %w", err)
	}
	// Keys are generated ahead, so a container's credentials cost a
	// signature, not a key generation, on its way to RUNNING.
	iss.Keys = identity.NewKeyPool(d.ctx, identity.DefaultPoolSize)
	d.identity = iss
	return nil
}

// containerEnv is what the cell adds to one container.
type containerEnv struct {
	Env     []string
	Mounts  []container.BindMount
	credDir string // "" without instance identity
	subject identity.Subject
}

// envLRP is the environment of an LRP instance's container: the
// executor's INSTANCE_GUID, INSTANCE_INDEX, CF_INSTANCE_GUID and
// CF_INSTANCE_INDEX, the desired LRP's variables, then what the cell adds.
func (d *Daemon) envLRP(instanceGUID string, index int32, desired *models.DesiredLRP) (containerEnv, error) {
	idx := strconv.Itoa(int(index))
	env := []string{"INSTANCE_GUID=" + instanceGUID, "INSTANCE_INDEX=" + idx, "CF_INSTANCE_GUID=" + instanceGUID, "CF_INSTANCE_INDEX=" + idx}
	return d.cellEnv(instanceGUID, append(env, modelEnv(desired.EnvironmentVariables)...), desired.TrustedSystemCertificatesPath, desired.CertificateProperties)
}

// envTask is the environment of a task's container: its variables, then
// what the cell adds.
func (d *Daemon) envTask(taskGUID string, def *models.TaskDefinition) (containerEnv, error) {
	return d.cellEnv(taskGUID, modelEnv(def.EnvironmentVariables), def.TrustedSystemCertificatesPath, def.CertificateProperties)
}

func modelEnv(vars []*models.EnvironmentVariable) []string {
	env := make([]string, 0, len(vars))
	for _, e := range vars {
		env = append(env, e.Name+"="+e.Value)
	}
	return env
}

// cellEnv appends CF_SYSTEM_CERT_PATH with the trusted certificates'
// mount (when the cell has them and the definition asks), then
// CF_INSTANCE_CERT and CF_INSTANCE_KEY with the credentials' mount (when
// instance identity is on), making the container's credentials directory.
func (d *Daemon) cellEnv(guid string, env []string, trustedPath string, props *models.CertificateProperties) (containerEnv, error) {
	ce := containerEnv{Env: env}
	if d.cfg.TrustedSystemCertificatesPath != "" && trustedPath != "" {
		ce.Mounts = append(ce.Mounts, container.BindMount{HostPath: d.cfg.TrustedSystemCertificatesPath, ContainerPath: trustedPath, ReadOnly: true})
		ce.Env = append(ce.Env, "CF_SYSTEM_CERT_PATH="+trustedPath)
	}
	if d.identity == nil {
		return ce, nil
	}
	ce.credDir = filepath.Join(d.cfg.InstanceIdentityCredDir, filepath.Base(guid))
	if err := os.Mkdir(ce.credDir, 0o755); err != nil {
		d.log.Error(credDirFailed, "guid", guid, "error", err)
		return ce, errors.New(credDirFailed)
	}
	ce.subject = identity.Subject{GUID: guid}
	if props != nil {
		ce.subject.OrganizationalUnits = props.OrganizationalUnit
	}
	ce.Mounts = append(ce.Mounts, container.BindMount{HostPath: ce.credDir, ContainerPath: identity.ContainerDir, ReadOnly: true})
	ce.Env = append(ce.Env, identity.Env()...)
	return ce, nil
}

// startIdentity writes the container's first credentials, for its IP
// (internal, else the cell's) now that it exists, and renews them in the
// background until the returned stop is called.
func (d *Daemon) startIdentity(ctx context.Context, ce containerEnv, info container.Info, log *slog.Logger) (stop func(), err error) {
	if ce.credDir == "" {
		return func() {}, nil
	}
	ce.subject.IP = info.ContainerIP
	if ce.subject.IP == "" {
		ce.subject.IP = info.HostIP
	}
	if _, err := d.identity.IssueTo(ce.credDir, ce.subject); err != nil {
		return func() {}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.identity.Renew(ctx, ce.credDir, ce.subject, time.After, func(err error) {
			log.Error("renewing the instance identity credentials", "error", err)
		})
	}()
	return func() { cancel(); <-done }, nil
}

// removeCredDir removes a destroyed container's credentials.
func (d *Daemon) removeCredDir(guid string, log *slog.Logger) {
	if d.identity == nil {
		return
	}
	if err := os.RemoveAll(filepath.Join(d.cfg.InstanceIdentityCredDir, filepath.Base(guid))); err != nil {
		log.Warn("removing the instance identity credentials", "error", err)
	}
}

// limitLogs is the limit of a desired LRP's or task's output: its
// log_rate_limit (none = no byte limit) and the cell's
// max_log_lines_per_second, shared by all its log sources' streams (see
// lograte.Limiter.Streams); nil without limits.
func (d *Daemon) limitLogs(limit *models.LogRateLimit) *lograte.Limiter {
	bytesPerSec := int64(lograte.Unlimited)
	if limit != nil {
		bytesPerSec = limit.BytesPerSecond
	}
	return lograte.NewLimiter(bytesPerSec, d.cfg.MaxLogLinesPerSecond, time.Now)
}

// startTaskIdentity is startIdentity for a task's container, inspected
// here (the task runner has no other use for its Info).
func (d *Daemon) startTaskIdentity(ctx context.Context, c container.Container, ce containerEnv) (func(), error) {
	if ce.credDir == "" {
		return func() {}, nil
	}
	info, err := c.Info(ctx)
	if err != nil {
		return func() {}, err
	}
	return d.startIdentity(ctx, ce, info, d.log.With("task_guid", ce.subject.GUID))
}
