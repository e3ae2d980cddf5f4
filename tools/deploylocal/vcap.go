package deploylocal

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os/exec"
	"strings"

	"github.com/diego-go/diego/tools/internal/boshrel"
)

// hostsFile resolves the bosh-dns-aliases addon's aliases (query '*': every
// instance of the group; '_': <instance id>.<domain without "_.">) and each
// instance's <id>.<group>.<network>.<deployment>.bosh name.
func hostsFile(m *boshrel.Manifest, st *State) []byte {
	var b bytes.Buffer
	b.WriteString("127.0.0.1 localhost\n::1 localhost\n")
	for _, a := range m.Addons {
		for _, j := range a.Jobs {
			if j.Name != "bosh-dns-aliases" {
				continue
			}
			aliases, _ := j.Properties["aliases"].([]interface{})
			for _, al := range aliases {
				am, _ := al.(map[interface{}]interface{})
				domain, _ := am["domain"].(string)
				targets, _ := am["targets"].([]interface{})
				for _, t := range targets {
					tm, _ := t.(map[interface{}]interface{})
					group, _ := tm["instance_group"].(string)
					query, _ := tm["query"].(string)
					for _, inst := range st.Instances {
						if inst.Group != group {
							continue
						}
						if query == "_" && strings.HasPrefix(domain, "_.") {
							fmt.Fprintf(&b, "%s %s.%s\n", inst.IP, inst.ID, strings.TrimPrefix(domain, "_."))
						} else {
							fmt.Fprintf(&b, "%s %s\n", inst.IP, domain)
						}
					}
				}
			}
		}
	}
	for _, inst := range st.Instances {
		fmt.Fprintf(&b, "%s %s-%d %s.%s.default.%s.bosh\n", inst.IP, inst.Group, inst.Index, inst.ID, inst.Group, m.Name)
	}
	return b.Bytes()
}

// resetDatabase drops and re-creates the PostgreSQL database and role that
// the BBS job's diego.bbs.sql properties name, through the host's
// PostgreSQL at target (trust or the postgres role's access on loopback).
func resetDatabase(m *boshrel.Manifest, target string, logf func(string, ...interface{})) error {
	var sql map[interface{}]interface{}
	for _, ig := range m.InstanceGroups {
		for _, ref := range ig.Jobs {
			if ref.Name == "bbs" && ref.Release == ReleaseName {
				diego, _ := ref.Properties["diego"].(map[interface{}]interface{})
				bbs, _ := diego["bbs"].(map[interface{}]interface{})
				sql, _ = bbs["sql"].(map[interface{}]interface{})
			}
		}
	}
	if sql == nil || fmt.Sprint(sql["db_driver"]) != "postgres" {
		return nil
	}
	host, port, _ := strings.Cut(target, ":")
	db, user, pass := fmt.Sprint(sql["db_schema"]), fmt.Sprint(sql["db_username"]), fmt.Sprint(sql["db_password"])
	for _, s := range []string{db, user} {
		if strings.ContainsAny(s, `"'; `) || s == "" {
			return fmt.Errorf("unexpected database or user name %q", s)
		}
	}
	script := fmt.Sprintf(`DROP DATABASE IF EXISTS "%s" WITH (FORCE);
DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') THEN CREATE ROLE "%s" LOGIN; END IF; END $$;
ALTER ROLE "%s" LOGIN PASSWORD '%s';
CREATE DATABASE "%s" OWNER "%s";
`, db, user, user, user, strings.ReplaceAll(pass, "'", "''"), db, user)
	cmd := exec.Command("psql", "-v", "ON_ERROR_STOP=1", "-h", host, "-p", port, "-U", "postgres", "-d", "postgres", "-q")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("creating database %s (role %s) on %s: %v\n%s", db, user, target, err, out)
	}
	logf("database %s (role %s) created afresh on %s", db, user, target)
	return nil
}

func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// monitShim stands in for the BOSH agent's monit: there is none (the
// processes are started once from bpm.yml and not restarted).
const monitShim = `#!/bin/sh
# deploy-local: no monit here; processes are started once from bpm.yml.
echo "deploy-local: monit $* (no monit: ignored)"
exit 0
`

// bpmShim stands in for the bpm job's bpm: stop (SIGTERM, SIGKILL after
// 20 s) and pid, by the pid files deploy-local writes where bpm does.
const bpmShim = `#!/bin/bash
# deploy-local stand-in for bpm: "stop JOB [-p PROCESS]" and "pid JOB [-p PROCESS]".
set -u
cmd="${1:-}"; job="${2:-}"; proc="${job}"
if [[ "${3:-}" == -p ]]; then proc="${4:-}"; fi
pidfile="/var/vcap/sys/run/bpm/${job}/${proc}.pid"
case "${cmd}" in
  stop)
    [[ -f "${pidfile}" ]] || { echo "bpm: ${job}/${proc} is not running"; exit 0; }
    pid="$(cat "${pidfile}")"
    kill -TERM "${pid}" 2>/dev/null || exit 0
    for _ in $(seq 1 200); do
      state="$(awk '{print $3}' "/proc/${pid}/stat" 2>/dev/null || true)"
      [[ -z "${state}" || "${state}" == Z ]] && exit 0
      sleep 0.1
    done
    kill -KILL "${pid}" 2>/dev/null || true ;;
  pid) cat "${pidfile}" ;;
  *) echo "deploy-local bpm stand-in: ${cmd} is not supported" >&2; exit 1 ;;
esac
`
