package nomadgen_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/tools/nomadgen"
)

// TestJobsAreCurrent fails while a committed job file in nomad/ differs
// from what the template makes: edit the template and run
// `opencommerce gen-nomad` (make docs), never the files.
func TestJobsAreCurrent(t *testing.T) {
	if err := nomadgen.Check(filepath.Join("..", "..", "nomad")); err != nil {
		t.Fatal(err)
	}
}

// TestCheckNamesAStaleJob: a hand edit of one job file is caught, by name.
func TestCheckNamesAStaleJob(t *testing.T) {
	dir := t.TempDir()
	if err := nomadgen.Write(dir); err != nil {
		t.Fatal(err)
	}
	if err := nomadgen.Check(dir); err != nil {
		t.Fatalf("freshly written jobs: %v", err)
	}
	p := filepath.Join(dir, "order.nomad.hcl")
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, bytes.Replace(b, []byte(`kill_timeout = "30s"`), []byte(`kill_timeout = "5s"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	err := nomadgen.Check(dir)
	if err == nil || !strings.Contains(err.Error(), "order.nomad.hcl") || strings.Contains(err.Error(), "user.nomad.hcl") {
		t.Fatalf("check after editing order.nomad.hcl: %v", err)
	}
}

// TestJobsDifferOnlyWhereModulesDo: the template gives each module its own
// ports, services and servers (from the module graph).
func TestJobsDifferOnlyWhereModulesDo(t *testing.T) {
	jobs := map[string]string{}
	for _, j := range nomadgen.Jobs {
		b, err := nomadgen.Render(j)
		if err != nil {
			t.Fatal(err)
		}
		jobs[j.Name] = string(b)
	}
	for _, tc := range []struct {
		job, text string
		want      bool
	}{
		{"gateway", `port "http" {}`, true},
		{"gateway", `rpc_queue`, false},
		{"file", `port "data" {}`, true},
		{"file", `volume "blobs"`, true},
		{"user", `volume "blobs"`, false},
		{"notification", `OC_SMTP_ADDR=`, true},
		{"notification", `OC_NATS_URL=`, true},
		{"order", `OC_SMTP_ADDR=`, false},
		{"gateway", `OC_PG_URL=`, false},
		{"product", `OC_PG_URL=`, true},
	} {
		if got := strings.Contains(jobs[tc.job], tc.text); got != tc.want {
			t.Errorf("%s job contains %q: %v, want %v", tc.job, tc.text, got, tc.want)
		}
	}
}
