package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// logsQuery is the logs command's request: whose logs, and which instance
// ("": every instance).
type logsQuery struct{ guid, index string }

// logsRequest registers --index and checks the process guid: it names a
// directory.
func logsRequest(c *call) func([]string) (logsQuery, error) {
	var index string
	c.str(&index, "index", "i", "", "only this instance (default: every instance)")
	return func(pos []string) (logsQuery, error) {
		guid := pos[0]
		if guid == "." || guid == ".." || strings.ContainsAny(guid, `/\`) {
			return logsQuery{}, fmt.Errorf("logs: %q is not a process guid", guid)
		}
		return logsQuery{guid, index}, nil
	}
}

// logs prints an LRP's container output from the log directory of a local
// cluster: <log_dir>/<process_guid>/<index>.log (the layout `diego up`
// writes; log_dir comes from the target file, --log-dir or DIEGO_LOG_DIR).
func logs(_ context.Context, k *conn, q logsQuery) (nothing, error) {
	s, err := k.settings()
	if err != nil {
		return nothing{}, err
	}
	if s.LogDir == "" {
		return nothing{}, errors.New("logs are only available for clusters started by `diego up`: the target has no log_dir (or set --log-dir / DIEGO_LOG_DIR)")
	}
	files, err := logFiles(filepath.Join(s.LogDir, q.guid), q.index)
	if err != nil {
		return nothing{}, err
	}
	for _, f := range files {
		if len(files) > 1 {
			fmt.Fprintf(k.stdout, "==> %s index %s <==\n", q.guid, strings.TrimSuffix(filepath.Base(f), ".log"))
		}
		if err := copyFile(k.stdout, f); err != nil {
			return nothing{}, err
		}
	}
	return nothing{}, nil
}

// logFiles lists dir's <index>.log files in index order, or just index's.
func logFiles(dir, index string) ([]string, error) {
	if index != "" {
		if _, err := strconv.ParseUint(index, 10, 31); err != nil {
			return nil, fmt.Errorf("logs: --index %q is not a non-negative integer", index)
		}
		f := filepath.Join(dir, index+".log")
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("no logs for index %s: %w", index, err)
		}
		return []string{f}, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("no logs: %w", err)
	}
	type file struct {
		path  string
		index int
	}
	var found []file
	for _, e := range entries {
		n, err := strconv.Atoi(strings.TrimSuffix(e.Name(), ".log"))
		if err == nil && strings.HasSuffix(e.Name(), ".log") && !e.IsDir() {
			found = append(found, file{filepath.Join(dir, e.Name()), n})
		}
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("no logs in %s", dir)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].index < found[j].index })
	out := make([]string, len(found))
	for i, f := range found {
		out[i] = f.path
	}
	return out, nil
}

func copyFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading logs: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("reading logs %s: %w", path, err)
	}
	return nil
}
