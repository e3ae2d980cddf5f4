package gardenserver_test

import (
	"errors"
	"testing"

	"code.cloudfoundry.org/garden"

	"github.com/diego-go/diego/src/rep/container/garden/gardenserver"
	"github.com/diego-go/diego/src/rep/container/process/processtest"
)

func newAdapter(t *testing.T) *gardenserver.Backend {
	t.Helper()
	return gardenserver.New(processtest.NewPorts(64000).New(t))
}

func TestCreateMapsSpecAndPorts(t *testing.T) {
	a := newAdapter(t)
	gc, err := a.Create(garden.ContainerSpec{
		Handle:     "h",
		Image:      garden.ImageRef{URI: "/rootfs.tar"},
		Properties: garden.Properties{"owner": "me"},
		Limits: garden.Limits{
			Memory: garden.MemoryLimits{LimitInBytes: 64 << 20},
			Disk:   garden.DiskLimits{ByteHard: 128 << 20},
		},
		NetIn: []garden.NetIn{{ContainerPort: 8080}, {ContainerPort: 2222}},
	})
	if err != nil {
		t.Fatal(err)
	}
	info, err := gc.Info()
	if err != nil {
		t.Fatal(err)
	}
	if len(info.MappedPorts) != 2 || info.MappedPorts[0].ContainerPort != 8080 || info.MappedPorts[1].ContainerPort != 2222 {
		t.Fatalf("MappedPorts %+v", info.MappedPorts)
	}
	if info.ExternalIP == "" || info.Properties["owner"] != "me" || info.State != "active" {
		t.Errorf("info %+v", info)
	}
	// NetIn reports the mapping made at create.
	host, cport, err := gc.NetIn(0, 2222)
	if err != nil || host != info.MappedPorts[1].HostPort || cport != 2222 {
		t.Errorf("NetIn(0, 2222) = %d, %d, %v; want %d", host, cport, err, info.MappedPorts[1].HostPort)
	}
	if _, _, err := gc.NetIn(0, 9999); err == nil {
		t.Error("NetIn of a port not requested at create succeeded")
	}
	if m, err := gc.CurrentMemoryLimits(); err != nil || m.LimitInBytes != 64<<20 {
		t.Errorf("CurrentMemoryLimits = %+v, %v", m, err)
	}
	if d, err := gc.CurrentDiskLimits(); err != nil || d.ByteHard != 128<<20 {
		t.Errorf("CurrentDiskLimits = %+v, %v", d, err)
	}
	for name, err := range map[string]error{
		"SetProperty":    gc.SetProperty("k", "v"),
		"RemoveProperty": gc.RemoveProperty("owner"),
		"NetOut":         gc.NetOut(garden.NetOutRule{}),
	} {
		if err == nil {
			t.Errorf("%s succeeded", name)
		}
	}
	if _, err := gc.Attach("p", garden.ProcessIO{}); err == nil {
		t.Error("Attach succeeded")
	}
}

func TestCreateRefusesWhatTheBackendCannotDo(t *testing.T) {
	a := newAdapter(t)
	for name, spec := range map[string]garden.ContainerSpec{
		"no handle":       {},
		"fixed host port": {Handle: "h", NetIn: []garden.NetIn{{HostPort: 8080, ContainerPort: 8080}}},
		"net out rules":   {Handle: "h", NetOut: []garden.NetOutRule{{}}},
	} {
		if _, err := a.Create(spec); err == nil {
			t.Errorf("%s: Create succeeded", name)
		}
	}
}

func TestContainersFilterAndNotFound(t *testing.T) {
	a := newAdapter(t)
	for h, owner := range map[string]string{"a": "x", "b": "y"} {
		if _, err := a.Create(garden.ContainerSpec{Handle: h, Properties: garden.Properties{"owner": owner}}); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := a.Containers(garden.Properties{"owner": "y"})
	if err != nil || len(cs) != 1 || cs[0].Handle() != "b" {
		t.Errorf("Containers(owner=y) = %v, %v", cs, err)
	}
	all, _ := a.Containers(nil)
	if len(all) != 2 {
		t.Errorf("Containers(nil): %d containers", len(all))
	}
	var nf garden.ContainerNotFoundError
	if _, err := a.Lookup("nope"); !errors.As(err, &nf) || nf.Handle != "nope" {
		t.Errorf("Lookup(nope): %v, want ContainerNotFoundError", err)
	}
	if err := a.Destroy("nope"); !errors.As(err, &nf) {
		t.Errorf("Destroy(nope): %v, want ContainerNotFoundError", err)
	}
	infos, err := a.BulkInfo([]string{"a", "nope"})
	if err != nil || infos["a"].Err != nil || infos["nope"].Err == nil {
		t.Errorf("BulkInfo = %+v, %v", infos, err)
	}
}
