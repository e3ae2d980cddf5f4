package procmem

import (
	"os"
	"testing"
)

func TestReadSelf(t *testing.T) {
	rss, peak, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss <= 0 || peak < rss {
		t.Fatalf("rss %d KiB, peak %d KiB: want 0 < rss <= peak", rss, peak)
	}
}

func TestReadMissingProcess(t *testing.T) {
	if _, _, err := Read(-1); err == nil {
		t.Fatal("Read(-1) succeeded")
	}
}
