package deploytest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/internal/config"
	"github.com/opencommerce/opencommerce/platform"
	"github.com/opencommerce/opencommerce/tools/deploytest"
)

func nomadFile(name string) string { return "nomad/" + name + ".nomad.hcl" }

func TestNomadServiceJobsFollowTheRules(t *testing.T) {
	for _, svc := range deploytest.Services {
		t.Run(svc.Name, func(t *testing.T) {
			p := nomadFile(svc.Name)
			noProblems(t, deploytest.CheckNomadServiceJob(p, read(t, p), svc))
		})
	}
}

func TestNomadEveryFileParses(t *testing.T) {
	files := append(glob(t, "nomad/*.hcl"), glob(t, "nomad/infra/*.hcl")...)
	if len(files) < len(deploytest.Services)+len(deploytest.Infrastructure)-1 {
		t.Fatalf("found only %d Nomad files: %v", len(files), files)
	}
	jobs := map[string]string{}
	for _, p := range files {
		name, err := deploytest.NomadJobName(p, read(t, p))
		if err != nil {
			t.Error(err)
			continue
		}
		if other, dup := jobs[name]; dup {
			t.Errorf("%s: job %q also defined in %s", p, name, other)
		}
		jobs[name] = p
	}
	for _, want := range append(deploytest.ServiceNames(), "postgres", "rabbitmq", "redis", "nats", "prometheus", "grafana") {
		if _, ok := jobs[want]; !ok {
			t.Errorf("no Nomad job %q under nomad/", want)
		}
	}
}

// Each rule, broken on purpose in a copy of the order job, must be reported.
func TestNomadServiceJobRulesCatchBreakage(t *testing.T) {
	order := deploytest.Services[slices.IndexFunc(deploytest.Services, func(s deploytest.Service) bool { return s.Name == "order" })]
	src := read(t, nomadFile("order"))
	const pre = "nomad/order.nomad.hcl: "
	cases := []struct {
		name string
		edit func(testing.TB, []byte) []byte
		want string
	}{
		{"no check_restart", func(tb testing.TB, s []byte) []byte {
			return removeBlocks(tb, s, "check_restart", "job", "group", "service", "check#1")
		}, pre + "group order: service order: no check_restart on the /healthz check"},
		{"check_restart on readiness", func(tb testing.TB, s []byte) []byte {
			return setAttr(tb, s, "path", `"/readyz"`, "job", "group", "service", "check#1")
		}, "service order: check_restart on the /readyz check"},
		{"stagger", func(tb testing.TB, s []byte) []byte {
			return setAttr(tb, s, "max_parallel", "1\n    stagger = \"30s\"", "job", "update")
		}, "update: stagger is ignored by deployments"},
		{"restart mode delay", func(tb testing.TB, s []byte) []byte {
			return setAttr(tb, s, "mode", `"delay"`, "job", "group", "restart")
		}, `group order: restart mode "delay", want fail`},
		{"localhost fallback", func(tb testing.TB, s []byte) []byte {
			return removeAttr(tb, s, "OC_DEPS_EXPLICIT", "job", "group", "task", "env")
		}, "task order: env lacks OC_DEPS_EXPLICIT"},
		{"no metrics tag", func(tb testing.TB, s []byte) []byte {
			return setAttr(tb, s, "tags", `["opencommerce"]`, "job", "group", "service")
		}, pre + "group order: service order: no metrics tag"},
		{"provider nomad", func(tb testing.TB, s []byte) []byte {
			return setAttr(tb, s, "provider", `"nomad"`, "job", "group", "service")
		}, `service order: provider "nomad", want consul`},
		{"check on another port", func(tb testing.TB, s []byte) []byte {
			return setAttr(tb, s, "port", `"http"`, "job", "group", "service", "check")
		}, `want http on admin`},
		{"tcp check", func(tb testing.TB, s []byte) []byte {
			return setAttr(tb, s, "type", `"tcp"`, "job", "group", "service", "check")
		}, `is tcp on port "admin", want http on admin`},
		{"no readyz check", func(tb testing.TB, s []byte) []byte {
			return setAttr(tb, s, "path", `"/healthz"`, "job", "group", "service", "check")
		}, "service order: no /readyz check"},
		{"no canary", func(tb testing.TB, s []byte) []byte {
			return removeAttr(tb, s, "canary", "job", "update")
		}, pre + "group order: update: no canary"},
		{"no auto_promote", func(tb testing.TB, s []byte) []byte {
			return setAttr(tb, s, "auto_promote", "false", "job", "update")
		}, "update: auto_promote is not true"},
		{"no auto_revert", func(tb testing.TB, s []byte) []byte {
			return removeAttr(tb, s, "auto_revert", "job", "update")
		}, "update: auto_revert is not true"},
		{"no update", func(tb testing.TB, s []byte) []byte {
			return removeBlocks(tb, s, "update", "job")
		}, pre + "group order: no update block"},
		{"no restart", func(tb testing.TB, s []byte) []byte {
			return removeBlocks(tb, s, "restart", "job", "group")
		}, pre + "group order: no restart block"},
		{"no reschedule", func(tb testing.TB, s []byte) []byte {
			return removeBlocks(tb, s, "reschedule", "job", "group")
		}, pre + "group order: no reschedule block"},
		{"no shutdown_delay", func(tb testing.TB, s []byte) []byte {
			return removeAttr(tb, s, "shutdown_delay", "job", "group")
		}, pre + "group order: no shutdown_delay"},
		{"no kill_timeout", func(tb testing.TB, s []byte) []byte {
			return removeAttr(tb, s, "kill_timeout", "job", "group", "task")
		}, pre + "group order: task order: no kill_timeout"},
		{"no memory", func(tb testing.TB, s []byte) []byte {
			return removeAttr(tb, s, "memory", "job", "group", "task", "resources")
		}, "task order: resources: no memory"},
		{"no resources", func(tb testing.TB, s []byte) []byte {
			return removeBlocks(tb, s, "resources", "job", "group", "task")
		}, "task order: no resources"},
		{"wrong target", func(tb testing.TB, s []byte) []byte {
			return setAttr(tb, s, "args", `["-target=user", "-consul.register=false"]`, "job", "group", "task", "config")
		}, "task order: args run -target=user, want -target=order"},
		{"self-registration", func(tb testing.TB, s []byte) []byte {
			return setAttr(tb, s, "args", `["-target=order", "-admin.addr=${NOMAD_ADDR_admin}"]`, "job", "group", "task", "config")
		}, "args lack -consul.register=false"},
		{"template noop", func(tb testing.TB, s []byte) []byte {
			return setAttr(tb, s, "change_mode", `"noop"`, "job", "group", "task", "template")
		}, "template secrets/deps.env: change_mode noop"},
		{"restart without splay", func(tb testing.TB, s []byte) []byte {
			return removeAttr(tb, s, "splay", "job", "group", "task", "template")
		}, "template secrets/deps.env: change_mode restart without splay"},
		{"template default change_mode", func(tb testing.TB, s []byte) []byte {
			return removeAttr(tb, s, "change_mode", "job", "group", "task", "template")
		}, "template secrets/deps.env: no change_mode"},
		{"signal without splay", func(tb testing.TB, s []byte) []byte {
			s = setAttr(tb, s, "change_mode", `"signal"`, "job", "group", "task", "template")
			return removeAttr(tb, s, "splay", "job", "group", "task", "template")
		}, "template secrets/deps.env: change_mode signal without splay"},
		{"template not into env", func(tb testing.TB, s []byte) []byte {
			return setAttr(tb, s, "env", "false", "job", "group", "task", "template")
		}, "no template rendering Consul services or keys into env"},
		{"bridge network", func(tb testing.TB, s []byte) []byte {
			return setAttr(tb, s, "mode", `"bridge"`, "job", "group", "network")
		}, `network mode "bridge", want host`},
		{"no admin port", func(tb testing.TB, s []byte) []byte {
			return removeBlocks(tb, s, "port", "job", "group", "network")
		}, `group order: no port "admin"`},
		{"foreign service", func(tb testing.TB, s []byte) []byte {
			return setAttr(tb, s, "name", `"user"`, "job", "group", "service")
		}, `group order: no service "order"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			broken := c.edit(t, src)
			wantProblem(t, deploytest.CheckNomadServiceJob(nomadFile("order"), broken, order), c.want)
		})
	}
	t.Run("not HCL", func(t *testing.T) {
		wantProblem(t, deploytest.CheckNomadServiceJob("nomad/order.nomad.hcl", []byte("job \"order\" {"), order), "nomad/order.nomad.hcl")
	})
}

// The infrastructure jobs of Prometheus and Grafana read the repository's
// files with file(); every path must exist, every rules file and dashboard
// must be loaded, and a file rendered with [[ ]] delimiters must not
// contain them.
func TestNomadObservabilityJobsLoadTheRepositoryFiles(t *testing.T) {
	r := root(t)
	loaded := map[string]bool{}
	for _, p := range []string{"nomad/infra/prometheus.nomad.hcl", "nomad/infra/grafana.nomad.hcl"} {
		reads, err := deploytest.NomadFileReads(p, read(t, p))
		if err != nil {
			t.Fatal(err)
		}
		for f, brackets := range reads {
			loaded[f] = true
			b, err := os.ReadFile(filepath.Join(r, f))
			if err != nil {
				t.Errorf("%s: file(%q): %v", p, f, err)
				continue
			}
			if !brackets {
				t.Errorf("%s: template of %s needs left_delimiter \"[[\": the file holds {{ }} templates of its own", p, f)
			}
			if strings.Contains(string(b), "[[") || strings.Contains(string(b), "]]") {
				t.Errorf("%s: contains [[ or ]], which the Nomad template in %s would interpret", f, p)
			}
		}
	}
	for _, f := range append(append(glob(t, "observability/prometheus/rules/*.yml"), "observability/prometheus/prometheus.yml"),
		glob(t, "observability/grafana/dashboards/*.json")...) {
		if !loaded[f] {
			t.Errorf("%s is not loaded by the Nomad job of Prometheus or Grafana", f)
		}
	}
}

func ExampleCheckNomadServiceJob() {
	src := []byte(`job "order" {
  group "order" {}
}`)
	for _, p := range deploytest.CheckNomadServiceJob("nomad/order.nomad.hcl", src, deploytest.Service{Name: "order", Own: []string{"order"}}) {
		fmt.Println(p)
	}
	// Output:
	// nomad/order.nomad.hcl: group order: no update block
	// nomad/order.nomad.hcl: group order: no network block
	// nomad/order.nomad.hcl: group order: no port "admin"
	// nomad/order.nomad.hcl: group order: no restart block
	// nomad/order.nomad.hcl: group order: no reschedule block
	// nomad/order.nomad.hcl: group order: no shutdown_delay (Consul must drop an instance before it stops)
	// nomad/order.nomad.hcl: group order: no service "order"
	// nomad/order.nomad.hcl: group order: no task
}

// The servers each job's templates give its task, the servers its Consul
// ACL policy may read and the servers its module really uses (the binary's
// module graph, platform.Servers) are one and the same list: a module that
// uses Redis gets Redis's address from Consul, not 127.0.0.1:6379 by
// accident.
func TestNomadJobsGetTheServersTheirModulesUse(t *testing.T) {
	isServer := map[string]bool{}
	for s := range platform.ServerFlags {
		isServer[s] = true
	}
	for _, svc := range deploytest.Services {
		t.Run(svc.Name, func(t *testing.T) {
			want, err := platform.Servers([]string{svc.Name})
			if err != nil {
				t.Fatal(err)
			}
			path := nomadFile(svc.Name)
			src := read(t, path)
			services, keys, err := deploytest.NomadTemplateLookups(path, src)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range services {
				if isServer[s] && !slices.Contains(got, s) {
					got = append(got, s)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: templates look up servers %v, the module graph says %v", path, got, want)
			}
			for _, s := range want {
				env := config.EnvName(platform.ServerFlags[s])
				if !strings.Contains(string(src), env+"=") {
					t.Errorf("%s: no template renders %s (the address of %s)", path, env, s)
				}
				if !slices.Contains(svc.Reads, s) {
					t.Errorf("deploytest.Services[%s].Reads lacks %s, which the module uses", svc.Name, s)
				}
			}
			if slices.Contains(want, platform.ServerRabbitMQ) && !slices.Contains(keys, "opencommerce/"+svc.Name+"/amqp_vhost") {
				t.Errorf("%s: the AMQP vhost is not read from opencommerce/%s/amqp_vhost", path, svc.Name)
			}
		})
	}
}

// With every job at its default count and resources, the six jobs and one
// canary of the largest fit a 2-core dev node (Nomad offers about 4,900 MHz
// there).
func TestNomadJobDefaultsFitOneDevNode(t *testing.T) {
	const budget = 4000
	total, largest := 0.0, 0.0
	for _, svc := range deploytest.Services {
		cpu, count, err := deploytest.NomadDefaultCPU(nomadFile(svc.Name), read(t, nomadFile(svc.Name)))
		if err != nil {
			t.Fatal(err)
		}
		total += cpu * count
		largest = max(largest, cpu)
	}
	if total+largest > budget {
		t.Errorf("default CPU reservations %v MHz + a canary of %v MHz exceed %v MHz", total, largest, budget)
	}
}
