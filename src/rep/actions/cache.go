package actions

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Cache is a size-bounded on-disk store of downloaded artifacts, keyed by
// URL, cache key and checksum. The least recently used entries are evicted
// to stay under the bound; an artifact larger than the bound is not kept.
type Cache struct {
	dir      string
	maxBytes int64

	mu       sync.Mutex
	entries  map[string]*cacheEntry
	used     int64
	inflight map[string]chan struct{}
}

type cacheEntry struct {
	size     int64
	lastUsed time.Time
}

const tmpPrefix = "tmp-"

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
	c := &Cache{dir: dir, maxBytes: maxBytes, entries: map[string]*cacheEntry{}, inflight: map[string]chan struct{}{}}
	for _, de := range des {
		path := filepath.Join(dir, de.Name())
		if strings.HasPrefix(de.Name(), tmpPrefix) {
			os.Remove(path)
			continue
		}
		fi, err := de.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		c.entries[de.Name()] = &cacheEntry{size: fi.Size(), lastUsed: fi.ModTime()}
		c.used += fi.Size()
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

// open returns the cached file for key, if any, marking it used.
func (c *Cache) open(key string) (*os.File, int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, 0, false
	}
	f, err := os.Open(filepath.Join(c.dir, key))
	if err != nil {
		c.used -= e.size
		delete(c.entries, key)
		return nil, 0, false
	}
	e.lastUsed = time.Now()
	return f, e.size, true
}

// claim makes the caller the only downloader of key until release; it
// returns false after waiting for another downloader of key to finish.
func (c *Cache) claim(key string) bool {
	c.mu.Lock()
	ch, busy := c.inflight[key]
	if !busy {
		c.inflight[key] = make(chan struct{})
	}
	c.mu.Unlock()
	if busy {
		<-ch
		return false
	}
	return true
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
func (c *Cache) put(key, tmp string, size int64) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if size > c.maxBytes {
		return false, nil
	}
	if old, ok := c.entries[key]; ok {
		c.used -= old.size
		delete(c.entries, key)
	}
	c.evictLocked(size)
	if err := os.Rename(tmp, filepath.Join(c.dir, key)); err != nil {
		return false, fmt.Errorf("download cache: %w", err)
	}
	c.entries[key] = &cacheEntry{size: size, lastUsed: time.Now()}
	c.used += size
	return true, nil
}

// evictLocked removes least recently used entries until room more bytes fit.
func (c *Cache) evictLocked(room int64) {
	for c.used+room > c.maxBytes && len(c.entries) > 0 {
		var oldest string
		for k, e := range c.entries {
			if oldest == "" || e.lastUsed.Before(c.entries[oldest].lastUsed) {
				oldest = k
			}
		}
		// Open readers keep their data: unlinking does not truncate.
		os.Remove(filepath.Join(c.dir, oldest))
		c.used -= c.entries[oldest].size
		delete(c.entries, oldest)
	}
}
