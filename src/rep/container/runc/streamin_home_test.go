package runc_test

import (
	"bytes"
	"testing"

	"github.com/diego-go/diego/src/rep/container"
)

// TestStreamInRelativeIsHome: as in Garden, a relative path streamed in as
// a user is in that user's home, where the user's processes start, so
// Cloud Controller's droplet download to "." and its launcher's "app"
// directory meet.
func TestStreamInRelativeIsHome(t *testing.T) {
	b := newBackend(t)
	c := create(t, b, container.Spec{Handle: "relative-home"})
	if err := container.StreamInAs(t.Context(), c, "vcap", ".", bytes.NewReader(tarOneFile(t, "app/droplet.txt", "droplet"))); err != nil {
		t.Fatal(err)
	}
	p, err := c.Run(t.Context(), container.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "test \"$(cat app/droplet.txt)\" = droplet && test \"$PWD\" = /home/vcap"}, User: "vcap"}, container.ProcessIO{})
	if err != nil {
		t.Fatal(err)
	}
	if status, err := p.Wait(); err != nil || status != 0 {
		t.Fatalf("a vcap process in its home does not find app/droplet.txt streamed in to \".\": status %d, %v", status, err)
	}
}
