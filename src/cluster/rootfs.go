package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// busyboxRootFS builds (once) a small rootfs for the runc backend from
// Debian's busybox-static, as ci/dev/rootfs/busybox.sh does: busybox and a
// symlink per applet, root and vcap (2000) users, /tmp and /home/vcap.
func busyboxRootFS(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "bin", "sh")); err == nil {
		return nil
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return errors.New("the runc backend's rootfs needs busybox: apt-get install busybox-static")
	}
	out, err := exec.Command(busybox, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("listing busybox applets (is %s busybox-static?): %w", busybox, err)
	}
	tmp := dir + ".tmp"
	_ = os.RemoveAll(tmp)
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "tmp", "home/vcap", "proc", "sys", "dev", "root", "var/tmp"} {
		if err := os.MkdirAll(filepath.Join(tmp, d), 0o755); err != nil {
			return err
		}
	}
	_ = os.Chmod(filepath.Join(tmp, "tmp"), 0o1777)
	_ = os.Chown(filepath.Join(tmp, "home/vcap"), 2000, 2000)
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "bin/busybox"), bin, 0o755); err != nil {
		return err
	}
	for _, applet := range strings.Fields(string(out)) {
		p := filepath.Join(tmp, applet)
		if applet == "bin/busybox" || !strings.Contains(applet, "/") {
			continue
		}
		if err := os.Symlink("/bin/busybox", p); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd":      "root:x:0:0:root:/root:/bin/sh\nvcap:x:2000:2000:vcap:/home/vcap:/bin/sh\n",
		"etc/group":       "root:x:0:\nvcap:x:2000:\n",
		"etc/hosts":       "127.0.0.1 localhost\n",
		"etc/resolv.conf": "",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	if !bytes.Contains(out, []byte("bin/sh")) {
		return errors.New("busybox has no sh applet")
	}
	return os.Rename(tmp, dir)
}
