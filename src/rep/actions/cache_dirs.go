package actions

// Extracted artifacts: a cache entry's archive extracted once on the cell,
// shared by the containers that bind-mount it and removed only when none
// uses it any more, as the reference's cacheddownloader does with
// FetchAsDirectory.

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// extractedArea is the directory, in the cache's, holding extracted
// artifacts.
const extractedArea = "extracted"

// dirs counts the containers using each extracted directory.
type dirs struct {
	refs map[string]int
	// orphans are directories no entry keeps any more (evicted, replaced,
	// or never kept), removed at their last release, with the bytes they
	// count in the cache's used.
	orphans map[string]int64
}

func newDirs() dirs { return dirs{refs: map[string]int{}, orphans: map[string]int64{}} }

func (d dirs) inUse(path string) bool { return path != "" && d.refs[path] > 0 }

func (c *Cache) area() string { return filepath.Join(c.dir, extractedArea) }

// restoreDirs gives the entries a previous run left their extracted
// directories back and removes every other directory in the extracted
// area (ones no entry kept, interrupted extractions): the containers that
// used them are gone with that run.
func (c *Cache) restoreDirs() error {
	area := c.area()
	if err := os.MkdirAll(area, 0o755); err != nil {
		return fmt.Errorf("download cache: %w", err)
	}
	if err := os.Chmod(area, 0o755); err != nil {
		return fmt.Errorf("download cache: %w", err)
	}
	keep := map[string]bool{}
	for _, e := range c.entries {
		name := e.meta.Dir
		if name == "" || name != filepath.Base(name) {
			continue
		}
		path := filepath.Join(area, name)
		size, err := treeSize(path)
		if err != nil {
			continue
		}
		e.dir, e.dirSize = path, size
		c.used += size
		keep[name] = true
	}
	des, err := os.ReadDir(area)
	if err != nil {
		return fmt.Errorf("download cache: %w", err)
	}
	for _, de := range des {
		if !keep[de.Name()] {
			os.RemoveAll(filepath.Join(area, de.Name()))
		}
	}
	return nil
}

// treeSize is the bytes of the regular files under dir.
func treeSize(dir string) (int64, error) {
	var size int64
	err := filepath.WalkDir(dir, func(_ string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.Type().IsRegular() {
			fi, err := de.Info()
			if err != nil {
				return err
			}
			size += fi.Size()
		}
		return nil
	})
	return size, err
}

// newDir makes an empty directory, readable by every user, for an
// extraction.
func (c *Cache) newDir() (string, error) {
	path, err := os.MkdirTemp(c.area(), "dir-")
	if err != nil {
		return "", fmt.Errorf("download cache: %w", err)
	}
	return path, os.Chmod(path, 0o755)
}

// useDir returns the extracted directory of the entry key, if it has one,
// counting the caller as its user until it calls the returned release.
func (c *Cache) useDir(key string) (string, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.dir == "" {
		return "", nil
	}
	if _, err := os.Stat(e.dir); err != nil {
		c.detachDirLocked(e)
		return "", nil
	}
	c.dirs.refs[e.dir]++
	e.lastUsed = time.Now()
	return e.dir, c.releaser(e.dir)
}

// attachDir makes path, holding the entry key's archive extracted (size
// bytes), the entry's directory, used by the caller until it calls the
// returned release. Without an entry (key "" or evicted) or when the entry
// and its directory together exceed the cache's bound, path is the
// caller's alone and is removed at release.
func (c *Cache) attachDir(key, path string, size int64) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dirs.refs[path] = 1
	e, ok := c.entries[key]
	if !ok || e.dir != "" || e.size+size > c.maxBytes {
		c.dirs.orphans[path] = 0
		return c.releaser(path)
	}
	e.dir, e.dirSize, e.meta.Dir = path, size, filepath.Base(path)
	c.used += size
	writeMeta(filepath.Join(c.dir, key), e.meta)
	c.evictLocked(0)
	return c.releaser(path)
}

// releaser returns the release of one use of path: the last one removes
// an orphaned directory, and evicts what the bound no longer allows.
func (c *Cache) releaser(path string) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.dirs.refs[path]--; c.dirs.refs[path] > 0 {
				return
			}
			delete(c.dirs.refs, path)
			if size, ok := c.dirs.orphans[path]; ok {
				delete(c.dirs.orphans, path)
				c.used -= size
				os.RemoveAll(path)
			}
			c.evictLocked(0)
		})
	}
}

// detachDirLocked takes e's extracted directory from it: removed now when
// no container uses it, else at its last release.
func (c *Cache) detachDirLocked(e *cacheEntry) {
	if e.dir == "" {
		return
	}
	if c.dirs.inUse(e.dir) {
		c.dirs.orphans[e.dir] = e.dirSize
	} else {
		os.RemoveAll(e.dir)
		c.used -= e.dirSize
	}
	e.dir, e.dirSize, e.meta.Dir = "", 0, ""
}

// writeMeta saves an entry's meta beside its archive (at archive).
func writeMeta(archive string, meta entryMeta) {
	if b, err := json.Marshal(meta); err == nil {
		_ = os.WriteFile(archive+metaSuffix, b, 0o644)
	}
}
