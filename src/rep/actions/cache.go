package actions

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Cache is a size-bounded on-disk store of downloaded artifacts (the
// archives as served), keyed by URL, cache key and checksum. The least
// recently used entries are evicted to stay under the bound; an artifact
// larger than the bound is not kept. Each entry remembers the validators
// (ETag, Last-Modified) it was served with so it can be revalidated with a
// conditional GET, as the reference's cacheddownloader does. An entry may
// also keep its archive extracted (see FetchDir), counted in the bound.
type Cache struct {
	dir      string
	maxBytes int64

	mu       sync.Mutex
	entries  map[string]*cacheEntry
	used     int64
	inflight map[string]chan struct{}
	seq      uint64 // counts validations; an entry's validated is one of them
	waiting  int    // callers waiting in claim
	dirs     dirs   // the extracted directories in use or left to remove
}

type cacheEntry struct {
	size      int64
	lastUsed  time.Time
	meta      entryMeta
	validated uint64 // c.seq when the entry was last downloaded or revalidated (0: by a previous run)
	dir       string // the archive extracted (FetchDir); "" = none
	dirSize   int64
}

// entryMeta is what an entry keeps beside its archive (KEY.meta).
type entryMeta struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	// Checksummed entries were verified against the checksum in their key:
	// their content cannot change, so they are never revalidated.
	Checksummed bool `json:"checksummed,omitempty"`
	// Dir names the entry's extracted directory in the cache's extracted
	// area, if any.
	Dir string `json:"dir,omitempty"`
}

// revalidatable reports whether a conditional GET can tell if the entry is
// still current.
func (m entryMeta) revalidatable() bool { return m.ETag != "" || m.LastModified != "" }

const (
	tmpPrefix  = "tmp-"
	metaSuffix = ".meta"
)

// NewCache opens (creating if needed) a cache in dir holding at most
// maxBytes, indexing the entries a previous run left there.
func NewCache(dir string, maxBytes int64) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("download cache: %w", err)
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("download cache: %w", err)
	}
	c := &Cache{dir: dir, maxBytes: maxBytes, entries: map[string]*cacheEntry{}, inflight: map[string]chan struct{}{}, dirs: newDirs()}
	for _, de := range des {
		name := de.Name()
		path := filepath.Join(dir, name)
		if strings.HasPrefix(name, tmpPrefix) {
			os.Remove(path)
			continue
		}
		if strings.HasSuffix(name, metaSuffix) {
			if _, err := os.Stat(strings.TrimSuffix(path, metaSuffix)); err != nil {
				os.Remove(path) // its archive is gone
			}
			continue
		}
		fi, err := de.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		e := &cacheEntry{size: fi.Size(), lastUsed: fi.ModTime()}
		if b, err := os.ReadFile(path + metaSuffix); err == nil {
			_ = json.Unmarshal(b, &e.meta)
		}
		c.entries[name] = e
		c.used += fi.Size()
	}
	if err := c.restoreDirs(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.evictLocked(0)
	c.mu.Unlock()
	return c, nil
}

// cacheKey names an artifact: every part that identifies its content.
func cacheKey(url, key, algo, value string) string {
	h := sha256.Sum256([]byte(url + "\x00" + key + "\x00" + strings.ToLower(algo) + "\x00" + strings.ToLower(value)))
	return hex.EncodeToString(h[:])
}

// Used reports the bytes the cache holds.
func (c *Cache) Used() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

// cached is an entry opened for reading.
type cached struct {
	f    *os.File
	meta entryMeta
	// fresh: downloaded or revalidated since the caller began waiting.
	fresh bool
}

// open returns the cached file for key, if any, marking it used. since is
// the validation count the caller saw when it started (see generation).
func (c *Cache) open(key string, since uint64) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return cached{}, false
	}
	f, err := os.Open(filepath.Join(c.dir, key))
	if err != nil {
		c.removeLocked(key)
		return cached{}, false
	}
	e.lastUsed = time.Now()
	return cached{f: f, meta: e.meta, fresh: e.validated > since}, true
}

// generation is the current validation count.
func (c *Cache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

// revalidated records that the server confirmed the entry is current.
func (c *Cache) revalidated(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.seq++
		e.validated = c.seq
	}
}

// claim makes the caller the only downloader of key until release,
// waiting for another downloader of key to finish first. It fails when ctx
// ends while waiting.
func (c *Cache) claim(done <-chan struct{}, key string) bool {
	for {
		c.mu.Lock()
		ch, busy := c.inflight[key]
		if !busy {
			c.inflight[key] = make(chan struct{})
			c.mu.Unlock()
			return true
		}
		c.waiting++
		c.mu.Unlock()
		var ok bool
		select {
		case <-ch:
			ok = true
		case <-done:
		}
		c.mu.Lock()
		c.waiting--
		c.mu.Unlock()
		if !ok {
			return false
		}
	}
}

func (c *Cache) release(key string) {
	c.mu.Lock()
	close(c.inflight[key])
	delete(c.inflight, key)
	c.mu.Unlock()
}

// tempFile creates a file in the cache's directory for a download.
func (c *Cache) tempFile() (*os.File, error) {
	return os.CreateTemp(c.dir, tmpPrefix)
}

// put moves the downloaded file at tmp into the cache under key. It reports
// false (leaving tmp in place) when the artifact is too big to keep.
func (c *Cache) put(key, tmp string, size int64, meta entryMeta) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok {
		c.removeLocked(key)
	}
	if size > c.maxBytes || !c.evictLocked(size) {
		return false, nil
	}
	path := filepath.Join(c.dir, key)
	writeMeta(path, meta)
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(path + metaSuffix)
		return false, fmt.Errorf("download cache: %w", err)
	}
	c.seq++
	c.entries[key] = &cacheEntry{size: size, lastUsed: time.Now(), meta: meta, validated: c.seq}
	c.used += size
	return true, nil
}

// removeLocked drops the entry key. Open readers keep their data:
// unlinking does not truncate.
func (c *Cache) removeLocked(key string) {
	e, ok := c.entries[key]
	if !ok {
		return
	}
	path := filepath.Join(c.dir, key)
	os.Remove(path)
	os.Remove(path + metaSuffix)
	c.used -= e.size
	c.detachDirLocked(e)
	delete(c.entries, key)
}

// evictLocked removes least recently used entries until room more bytes
// fit, and reports whether they do. Entries whose extracted directory a
// container uses are not evicted.
func (c *Cache) evictLocked(room int64) bool {
	for c.used+room > c.maxBytes {
		var oldest string
		for k, e := range c.entries {
			if c.dirs.inUse(e.dir) {
				continue
			}
			if oldest == "" || e.lastUsed.Before(c.entries[oldest].lastUsed) {
				oldest = k
			}
		}
		if oldest == "" {
			return false
		}
		c.removeLocked(oldest)
	}
	return true
}

// drop forgets the entry key (its artifact is no longer cacheable).
func (c *Cache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(key)
}
