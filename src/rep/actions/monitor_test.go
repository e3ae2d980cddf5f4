package actions

import (
	"context"
	"testing"
	"time"

	"code.cloudfoundry.org/bbs/models"
)

// TestMonitorSteps: a monitor action fails as the reference's transform of
// it does (executor depot/transformer/transformer.go with
// depot/steps/run_step.go's suppressed exit status and
// depot/steps/output_wrapper_step.go): a run action without a reason, a
// parallel or codependent sub-action with its output, or "Failed to invoke
// process: ..." when it printed nothing.
func TestMonitorSteps(t *testing.T) {
	sc := map[string]script{
		"ok":       {exit: 0},
		"fail":     {exit: 1},
		"complain": {exit: 4, stdout: "failed to make TCP connection to 10.0.0.5:8080: connection refused\n"},
	}
	tests := []struct {
		name    string
		action  models.ActionInterface
		wantErr string
		wantOut string // the whole log
	}{
		{name: "run passes", action: run("ok"), wantOut: ""},
		{name: "run fails without a reason", action: run("fail"), wantErr: ""},
		{name: "run output is logged even when suppressed", action: &models.RunAction{Path: "complain", SuppressLogOutput: true},
			wantErr: "", wantOut: "failed to make TCP connection to 10.0.0.5:8080: connection refused\n"},
		{name: "parallel fails with the output", action: models.Parallel(run("complain"), run("ok")),
			wantErr: "failed to make TCP connection to 10.0.0.5:8080: connection refused"},
		{name: "parallel without output", action: models.Parallel(run("fail"), run("complain")),
			wantErr: "Failed to invoke process: ; failed to make TCP connection to 10.0.0.5:8080: connection refused"},
		{name: "codependent", action: models.Codependent(run("complain")),
			wantErr: "failed to make TCP connection to 10.0.0.5:8080: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out syncBuffer
			step, err := Build(models.WrapAction(tt.action), Deps{Container: newFakeContainer(sc), Stdout: &out, Stderr: &out,
				LogSource: "HEALTH", GracefulShutdown: time.Second, Monitor: true})
			if err != nil {
				t.Fatal(err)
			}
			err = step.Run(context.Background())
			if tt.name == "run passes" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			} else if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if tt.wantOut != "" || tt.name == "run passes" {
				if out.String() != tt.wantOut {
					t.Errorf("log %q, want %q", out.String(), tt.wantOut)
				}
			}
		})
	}
}
