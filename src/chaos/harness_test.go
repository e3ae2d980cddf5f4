package chaos

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"code.cloudfoundry.org/bbs/fake_bbs"
	"code.cloudfoundry.org/bbs/models"
)

func op(kind, guid string, version int, acked bool) WriteOp {
	o := WriteOp{Kind: kind, Guid: guid, Version: version, Acked: acked}
	if !acked {
		o.Err = "failed"
	}
	return o
}

func TestCheckWrites(t *testing.T) {
	ops := []WriteOp{
		op(DesireLRP, "a", 0, true), op(UpdateLRP, "a", 1, true), op(UpdateLRP, "a", 2, true), // a at v2
		op(DesireLRP, "b", 0, true), op(RemoveLRP, "b", 0, true), // b absent
		op(DesireLRP, "c", 0, false),                              // c absent or v0
		op(DesireLRP, "d", 0, true), op(UpdateLRP, "d", 1, false), // d v0 or v1
		op(DesireTsk, "t1", 0, true), op(DesireTsk, "t2", 0, true), op(DesireTsk, "t3", 0, false),
	}
	lrp := func(g, ann string) *models.DesiredLRP {
		return &models.DesiredLRP{ProcessGuid: g, Annotation: ann}
	}
	task := func(g string) *models.Task { return &models.Task{TaskGuid: g} }
	cases := []struct {
		name      string
		lrps      []*models.DesiredLRP
		tasks     []*models.Task
		completed map[string]bool
		lost, dup int
		wrong     int
	}{
		{name: "all there", lrps: []*models.DesiredLRP{lrp("a", "v2"), lrp("d", "v1")}, tasks: []*models.Task{task("t1")}, completed: map[string]bool{"t2": true}},
		{name: "unacknowledged ones applied", lrps: []*models.DesiredLRP{lrp("a", "v2"), lrp("c", "v0"), lrp("d", "v0")}, tasks: []*models.Task{task("t1"), task("t2"), task("t3")}},
		{name: "last update lost", lrps: []*models.DesiredLRP{lrp("a", "v1"), lrp("d", "v1")}, tasks: []*models.Task{task("t1"), task("t2")}, lost: 1},
		{name: "acknowledged remove undone", lrps: []*models.DesiredLRP{lrp("a", "v2"), lrp("b", "v0"), lrp("d", "v1")}, tasks: []*models.Task{task("t1"), task("t2")}, lost: 1},
		{name: "acknowledged desire missing", lrps: []*models.DesiredLRP{lrp("a", "v2")}, tasks: []*models.Task{task("t1"), task("t2")}, lost: 1},
		{name: "acknowledged task missing", lrps: []*models.DesiredLRP{lrp("a", "v2"), lrp("d", "v0")}, tasks: []*models.Task{task("t1")}, lost: 1},
		{name: "duplicates", lrps: []*models.DesiredLRP{lrp("a", "v2"), lrp("a", "v2"), lrp("d", "v0")}, tasks: []*models.Task{task("t1"), task("t2"), task("t3"), task("t3")}, dup: 2},
		{name: "unacknowledged desire with a foreign state", lrps: []*models.DesiredLRP{lrp("a", "v2"), lrp("c", "v7"), lrp("d", "v0")}, tasks: []*models.Task{task("t1"), task("t2")}, wrong: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := &fake_bbs.FakeClient{}
			cl.DesiredLRPsReturns(tc.lrps, nil)
			cl.TasksWithFilterReturns(tc.tasks, nil)
			a, err := CheckWrites(cl, ops, tc.completed)
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Lost) != tc.lost || len(a.Duplicates) != tc.dup || len(a.Wrong) != tc.wrong {
				t.Errorf("got %s; want %d lost, %d duplicated, %d inconsistent", a, tc.lost, tc.dup, tc.wrong)
			}
			if a.Acked != 8 || a.Unacked != 3 {
				t.Errorf("counted %d acknowledged, %d not; want 8 and 3", a.Acked, a.Unacked)
			}
			if a.OK() != (tc.lost+tc.dup+tc.wrong == 0) {
				t.Errorf("OK() = %v for %s", a.OK(), a)
			}
		})
	}
	cl := &fake_bbs.FakeClient{}
	cl.DesiredLRPsReturns(nil, models.ErrUnknownError)
	if _, err := CheckWrites(cl, ops, nil); err == nil {
		t.Error("CheckWrites with a BBS that fails: no error")
	}
}

func TestClassify(t *testing.T) {
	refused := &url.Error{Op: "Post", URL: "https://x", Err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	cases := []struct {
		err   error
		class string
		typed bool
	}{
		{models.ErrResourceExists, "BBS ResourceExists", true},
		{fmt.Errorf("wrapped: %w", models.ErrDeadlock), "BBS Deadlock", true},
		{refused, "connection refused", true},
		{&url.Error{Op: "Post", URL: "https://x", Err: syscall.ECONNRESET}, "connection reset", true},
		{fmt.Errorf("something else"), "untyped", false},
	}
	for _, tc := range cases {
		class, typed := classify(tc.err)
		if class != tc.class || typed != tc.typed {
			t.Errorf("classify(%v) = %q, %v; want %q, %v", tc.err, class, typed, tc.class, tc.typed)
		}
	}
}

func TestWriteReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reliability.md")
	doc := "# Title\n\nHand-written.\n\n" + BeginMarker + "\n| scenario | result | app downtime | API downtime | time to recover | converged after | errors seen | writes acknowledged | writes lost | other figures | run |\n|---|---|---|---|---|---|---|---|---|---|---|\n| old scenario | pass | 1 s | 2 s | 3 s | 4 s | 0 | 10 | 0 |  | 2026-01-01 |\n| kept | pass | 1 s | 2 s | 3 s | 4 s | 0 | 10 | 0 |  | 2026-01-01 |\n" + EndMarker + "\n\nAfter.\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	figMu.Lock()
	saved := figures
	figures = map[string]map[string]string{}
	figMu.Unlock()
	t.Cleanup(func() { figMu.Lock(); figures = saved; figMu.Unlock() })
	Record(t, "old scenario", map[string]string{FigLost: "0", FigAcked: "42", "extra": "x|y"})
	if err := WriteReport(path); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	got := string(b)
	for _, want := range []string{"Hand-written.", "After.", "| kept | pass | 1 s |", "| old scenario | pass | – | – | – | – | – | 42 | 0 | extra: x/y |"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "old scenario") != 1 {
		t.Errorf("the old row was not replaced:\n%s", got)
	}
	if err := os.WriteFile(path, []byte("no markers"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteReport(path); err == nil || !strings.Contains(err.Error(), "markers") {
		t.Errorf("WriteReport without markers: %v", err)
	}
}

func TestReplacedAndSummarize(t *testing.T) {
	if n := Replaced(map[int32]string{0: "a", 1: "b", 2: "c"}, map[int32]string{0: "a", 1: "x"}); n != 2 {
		t.Errorf("Replaced = %d, want 2", n)
	}
	s := Summarize([]WriteOp{op(DesireLRP, "a", 0, true), {Kind: DesireLRP, Guid: "b", Err: "x", Class: "untyped"}, {Kind: DesireLRP, Guid: "c", Err: "y", Typed: true}})
	if s.Writes != 3 || s.Acked != 1 || s.Failed != 2 || s.Untyped != 1 {
		t.Errorf("Summarize = %+v", s)
	}
}
