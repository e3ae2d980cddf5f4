package containertest

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// helperSource is a small static program the suite streams into containers:
//
//	helper listen   accept on :$PORT, write "hello <PORT>\n" to each connection
//	helper mem N    hold N MiB of touched memory, print "ready", sleep
const helperSource = `package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

func main() {
	switch os.Args[1] {
	case "listen":
		l, err := net.Listen("tcp", ":"+os.Getenv("PORT"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println("listening")
		for {
			c, err := l.Accept()
			if err != nil {
				os.Exit(3)
			}
			fmt.Fprintf(c, "hello %s\n", os.Getenv("PORT"))
			c.Close()
		}
	case "mem":
		n, _ := strconv.Atoi(os.Args[2])
		b := make([]byte, n<<20)
		for i := range b {
			b[i] = byte(i)
		}
		fmt.Println("ready")
		for {
			time.Sleep(time.Hour)
			b[0]++
		}
	}
}
`

var (
	helperOnce sync.Once
	helperBin  []byte
	helperErr  error
)

// HelperTar returns a tar holding "helper" (executable), the suite's helper
// program built for this machine, static. It is built once per test binary.
func HelperTar(t *testing.T) []byte {
	t.Helper()
	helperOnce.Do(func() {
		dir, err := os.MkdirTemp("", "containertest-helper")
		if err != nil {
			helperErr = err
			return
		}
		defer os.RemoveAll(dir)
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(helperSource), 0o644); err != nil {
			helperErr = err
			return
		}
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module helper\n\ngo 1.21\n"), 0o644); err != nil {
			helperErr = err
			return
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		cmd := exec.Command(goBin, "build", "-o", "helper", ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			helperErr = &buildError{err: err, out: string(out)}
			return
		}
		helperBin, helperErr = os.ReadFile(filepath.Join(dir, "helper"))
	})
	if helperErr != nil {
		t.Fatalf("building the helper program: %v", helperErr)
	}
	return tarOf(t, tarFile{name: "helper", body: string(helperBin), mode: 0o755})
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

type tarFile struct {
	name, body string
	mode       int64
	dir        bool
}

func tarOf(t *testing.T, files ...tarFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), Typeflag: tar.TypeReg}
		if f.dir {
			hdr.Typeflag, hdr.Size = tar.TypeDir, 0
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
			if f.dir {
				hdr.Mode = 0o755
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
