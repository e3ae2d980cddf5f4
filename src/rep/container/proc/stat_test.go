package proc

import (
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
)

func TestReadStat(t *testing.T) {
	st, ok := ReadStat(os.Getpid())
	if !ok || st.PID != os.Getpid() || st.PPID != os.Getppid() || st.PGRP != syscall.Getpgrp() || st.Zombie() || st.Start == "" {
		t.Fatalf("own stat: %+v, %v", st, ok)
	}
	if !slices.Contains(PIDs(), os.Getpid()) {
		t.Error("PIDs does not list this process")
	}
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if Alive(cmd.Process.Pid) {
		t.Errorf("reaped child %d still alive", cmd.Process.Pid)
	}
}
