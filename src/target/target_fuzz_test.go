package target

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// FuzzLoad: the CLI's target file through Load: no panic, errors name the
// file, and a loaded file written back with Write loads the same.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"bbs_url":"https://127.0.0.1:8889","ca_cert":"certs/ca.crt","client_cert":"/abs/client.crt","client_key":"certs/client.key","log_dir":"logs"}`))
	f.Add([]byte(`{"cells":[{"cell_id":"cell-1"},{"cell_id":"cell-2"}],"file_server_url":"http://127.0.0.1:8080/"}`))
	f.Add([]byte(`{"ca_cert":""}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{`))
	base, seq := f.TempDir(), 0
	f.Fuzz(func(t *testing.T, data []byte) {
		seq++
		dir := filepath.Join(base, strconv.Itoa(seq))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		path := Path(dir)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Load(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error does not name %s: %v", path, err)
			}
			return
		}
		for _, p := range []string{got.CACert, got.ClientCert, got.ClientKey, got.LogDir} {
			if p != "" && !filepath.IsAbs(p) {
				t.Errorf("path %q was not made absolute", p)
			}
		}
		_ = got.SSHDBundleURL()
		if err := Write(path, got); err != nil {
			t.Fatal(err)
		}
		again, err := Load(path)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("Write then Load: %+v, %v; want %+v", again, err, got)
		}
	})
}
