package platform_test

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/internal/config"
	"github.com/opencommerce/opencommerce/platform"
)

// Every OC_* variable and -flag the deployment files hand the binary must
// be one it knows: a misspelt variable is silently ignored by the process,
// so it would only show in production.
func TestDeploymentFilesUseRealFlags(t *testing.T) {
	fs := flag.NewFlagSet("opencommerce", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var cfg platform.Config
	cfg.RegisterFlags(fs)
	envs := map[string]bool{config.EnvName(config.FileFlag): true}
	fs.VisitAll(func(f *flag.Flag) { envs[config.EnvName(f.Name)] = true })

	files, _ := filepath.Glob("../nomad/*.hcl")
	files = append(files, "../docker-compose.yml")
	if len(files) < 2 {
		t.Fatal("no deployment files found")
	}
	envRe := regexp.MustCompile(`\b(OC_[A-Z0-9_]+)\b`)
	flagRe := regexp.MustCompile(`"-([a-z][a-z0-9.-]+)=`)
	var bad []string
	checked := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range envRe.FindAllStringSubmatch(string(src), -1) {
			checked++
			if !envs[m[1]] {
				bad = append(bad, filepath.Base(f)+": "+m[1])
			}
		}
		for _, line := range strings.Split(string(src), "\n") {
			if strings.Contains(line, `"agent"`) {
				continue // the Consul agent's own command line
			}
			for _, m := range flagRe.FindAllStringSubmatch(line, -1) {
				checked++
				if fs.Lookup(m[1]) == nil {
					bad = append(bad, filepath.Base(f)+": -"+m[1])
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no OC_* variables or flags found in the deployment files")
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Errorf("unknown to the binary: %s", b)
	}
}
