package benchsuite_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/tools/benchsuite"
	"github.com/opencommerce/opencommerce/tools/loadgen"
)

func TestResultsFormatAndJSON(t *testing.T) {
	r := &benchsuite.Results{
		Time:     time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC),
		Machine:  benchsuite.Machine{Cores: 2, GOMAXPROCS: 2, OS: "linux", Arch: "amd64", Go: "go1.26.8"},
		Versions: map[string]string{"postgresql": "15.20", "rabbitmq": "3.10.8", "redis": "7.0.15", "nats": "2.9.10", "go": "go1.26.8"},
		Duration: 6 * time.Second, Products: 2000,
		Baselines: []benchsuite.Figure{{Name: benchsuite.BareHTTP, InFlight: 64, PerSec: 40000, Latency: loadgen.Latency{P50: 600 * time.Microsecond}}},
		Platform: []benchsuite.Figure{{Name: benchsuite.ProductCached, InFlight: 64, PerSec: 30000, Baseline: benchsuite.BareHTTP, Ratio: 0.75,
			Latency: loadgen.Latency{P50: 900 * time.Microsecond, P99: 12 * time.Millisecond}}},
	}
	var b bytes.Buffer
	r.Format(&b)
	for _, want := range []string{"2 cores", "postgresql 15.20", "rabbitmq 3.10.8", "redis 7.0.15", "nats 2.9.10", "go go1.26.8",
		"bare fasthttp", "40000", "product read, gateway cache", "30000", "0.750", "900µs", "12.0ms"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
	path := filepath.Join(t.TempDir(), "sub", "results.json")
	if err := r.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	var back benchsuite.Results
	if err := json.Unmarshal(raw, &back); err != nil || back.Platform[0].Ratio != 0.75 || back.Versions["redis"] != "7.0.15" {
		t.Fatalf("round trip: %v %+v", err, back)
	}
}
