package runc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The disk quota: a container with DiskMB > 0 keeps its writable overlay
// layer (upper/ and work/) on a filesystem of its own, a sparse ext4 image
// (bundle/disk.img) mounted through a loop device at bundle/disk. Writes
// past the size fail with ENOSPC, as writes past grootfs's XFS project
// quota fail with EDQUOT. Whatever is written counts once, however it gets
// there (a process, StreamIn's extraction).

// diskImageSize is the image size giving at least mb MiB of free space:
// ext4 hides its metadata (inode tables, bitmaps: ~1.6% with the default
// inode ratio) from the free space, plus a MiB for the root directory,
// lost+found and small images.
func diskImageSize(mb int64) int64 {
	return mb<<20 + mb<<20/50 + 1<<20
}

func (c *Container) diskDir() string   { return filepath.Join(c.dir, "disk") }
func (c *Container) diskImage() string { return filepath.Join(c.dir, "disk.img") }

// mountDisk makes the container's image and mounts it at disk/ (mount's
// loop option sets autoclear: the loop device goes with the last unmount).
func (c *Container) mountDisk(ctx context.Context) error {
	img, dir := c.diskImage(), c.diskDir()
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(img, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = f.Truncate(diskImageSize(c.m.Spec.DiskMB))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("creating the disk image: %w", err)
	}
	// No journal, no reserved blocks, no resize inode, inode tables
	// initialised lazily: mkfs writes a few hundred KiB.
	mkfs := []string{"-q", "-F", "-O", "^has_journal,^resize_inode", "-E", "lazy_itable_init=1,nodiscard", "-m", "0", "-b", "4096", img}
	if out, err := exec.CommandContext(ctx, c.b.tools.mkfs, mkfs...).CombinedOutput(); err != nil {
		return fmt.Errorf("mkfs.ext4 of the disk image (install e2fsprogs or set mkfs_path): %w: %s", err, strings.TrimSpace(string(out)))
	}
	if err := mountLoop(img, dir); err != nil {
		return fmt.Errorf("mounting the disk image on a loop device: %w", err)
	}
	c.m.Disk = true
	return nil
}

// mountLoop attaches img to a free loop device with autoclear (the device
// is freed when its filesystem is unmounted) and mounts it at dir.
func mountLoop(img, dir string) error {
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer ctl.Close()
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	for range 16 { // another attach may take the free device first
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return fmt.Errorf("finding a free loop device: %w", err)
		}
		dev := "/dev/loop" + strconv.Itoa(n)
		loop, err := os.OpenFile(dev, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		cfg := unix.LoopConfig{Fd: uint32(f.Fd()), Info: unix.LoopInfo64{Flags: unix.LO_FLAGS_AUTOCLEAR}}
		copy(cfg.Info.File_name[:], img)
		if err := unix.IoctlLoopConfigure(int(loop.Fd()), &cfg); err != nil {
			loop.Close()
			if errors.Is(err, unix.EBUSY) {
				continue
			}
			return fmt.Errorf("configuring %s (LOOP_CONFIGURE, Linux 5.8+): %w", dev, err)
		}
		// The mount holds the device from here; closing ours last keeps
		// autoclear from freeing it before (or frees it if mount fails).
		err = unix.Mount(dev, dir, "ext4", unix.MS_NOATIME|unix.MS_NOSUID|unix.MS_NODEV, "")
		loop.Close()
		if err != nil {
			return fmt.Errorf("mounting %s: %w", dev, err)
		}
		return nil
	}
	return errors.New("no free loop device after 16 tries")
}

// unmountDisk unmounts disk/ (lazily when busy); its loop device is freed
// with the filesystem. Not mounted is fine.
func unmountDisk(dir string) error {
	err := syscall.Unmount(dir, 0)
	if errors.Is(err, syscall.EBUSY) {
		err = syscall.Unmount(dir, syscall.MNT_DETACH)
	}
	if err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("unmounting the disk %s: %w", dir, err)
	}
	return nil
}

// diskUsed is the used bytes of the filesystem at dir.
func diskUsed(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return (st.Blocks - st.Bfree) * uint64(st.Bsize), nil
}

// loopDevices maps each loop device backed by a file under dir to that
// file (as /sys/block/loopN/loop/backing_file says, " (deleted)" stripped).
func loopDevices(dir string) map[string]string {
	found := map[string]string{}
	files, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		backing := strings.TrimSuffix(strings.TrimSpace(string(raw)), " (deleted)")
		if strings.HasPrefix(backing, dir+"/") {
			found["/dev/"+filepath.Base(filepath.Dir(filepath.Dir(f)))] = backing
		}
	}
	return found
}

// LoopDevices lists the loop devices backing the disks of containers
// under the backend's state dir (device -> image): one per container with
// a disk, none once they are destroyed.
func (b *Backend) LoopDevices() map[string]string { return loopDevices(b.containersDir()) }

// releaseStaleLoops frees the loop devices whose image belongs to no
// container of keep (bundle dirs): unmounts what is still mounted of the
// bundle, then detaches the device.
func (b *Backend) releaseStaleLoops(keep map[string]bool) {
	for dev, img := range loopDevices(b.containersDir()) {
		bundle := filepath.Dir(img)
		if keep[bundle] {
			continue
		}
		_ = syscall.Unmount(filepath.Join(bundle, "rootfs"), syscall.MNT_DETACH)
		if err := unmountDisk(filepath.Join(bundle, "disk")); err != nil {
			b.log.Warn("recovery: unmounting a stale disk", "dir", bundle, "err", err)
		}
		if _, still := loopDevices(b.containersDir())[dev]; !still {
			continue // autoclear freed it with the unmount
		}
		if err := detachLoop(dev); err != nil {
			b.log.Warn("recovery: detaching a stale loop device", "dev", dev, "image", img, "err", err)
			continue
		}
		b.log.Info("recovery: detached a stale loop device", "dev", dev, "image", img)
	}
}

// detachLoop detaches a loop device (LOOP_CLR_FD; if it is still in use it
// goes with its last user).
func detachLoop(dev string) error {
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.IoctlSetInt(int(f.Fd()), unix.LOOP_CLR_FD, 0)
}
