package deploytest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/tools/deploytest"
)

func exists(tb testing.TB) func(string) bool {
	r := root(tb)
	return func(rel string) bool {
		_, err := os.Stat(filepath.Join(r, rel))
		return err == nil
	}
}

func TestComposeRunsTheWholeStack(t *testing.T) {
	noProblems(t, deploytest.CheckCompose("docker-compose.yml", read(t, "docker-compose.yml"), exists(t)))
}

func TestComposeRulesCatchBreakage(t *testing.T) {
	src := string(read(t, "docker-compose.yml"))
	cases := []struct{ name, old, new, want string }{
		{"no healthcheck", `    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 5s
      timeout: 3s
      retries: 20
`, "", "docker-compose.yml: service redis: no healthcheck"},
		{"no restart", `  redis:
    image: redis:7.4-alpine
    restart: unless-stopped
`, `  redis:
    image: redis:7.4-alpine
`, "docker-compose.yml: service redis: no restart policy"},
		{"restart no", `  mailpit:
    image: axllent/mailpit:v1.27
    restart: unless-stopped`, `  mailpit:
    image: axllent/mailpit:v1.27
    restart: "no"`, `service mailpit: restart "no" for a long-running service`},
		{"service missing", `  product:
    <<: *opencommerce
    command: ["-target=product", "-consul.register=true"]
    environment:
      <<: *opencommerce-env
      OC_CONSUL_ADVERTISE_ADDR: product
`, "", `no service "product"`},
		{"wrong target", `command: ["-target=order", "-consul.register=true"]`, `command: ["-target=all"]`, `service order: command ["-target=all"] lacks -target=order`},
		{"unknown dependency", `      mailpit:
        condition: service_healthy`, `      smtp:
        condition: service_healthy`, `service notification: depends on unknown service "smtp"`},
		{"missing mount", `./consul/agent/dev.hcl:`, `./consul/agent/missing.hcl:`, "mounts ./consul/agent/missing.hcl, which does not exist"},
		{"infra dropped", `  nats:
    image: nats:2.11-alpine`, `  natsx:
    image: nats:2.11-alpine`, `no service "nats"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(src, c.old) {
				t.Fatalf("docker-compose.yml no longer contains %q: update the test", c.old)
			}
			broken := strings.Replace(src, c.old, c.new, 1)
			wantProblem(t, deploytest.CheckCompose("docker-compose.yml", []byte(broken), exists(t)), c.want)
		})
	}
	t.Run("started condition", func(t *testing.T) {
		old := "    depends_on:\n      consul:\n        condition: service_healthy\n\n  grafana:"
		if !strings.Contains(src, old) {
			t.Fatalf("docker-compose.yml no longer contains %q: update the test", old)
		}
		broken := strings.Replace(src, old, "    depends_on:\n      consul:\n        condition: service_started\n\n  grafana:", 1)
		wantProblem(t, deploytest.CheckCompose("docker-compose.yml", []byte(broken), exists(t)),
			`service prometheus: depends on consul with condition "service_started"`)
	})
	t.Run("not YAML", func(t *testing.T) {
		wantProblem(t, deploytest.CheckCompose("docker-compose.yml", []byte("services: [\n"), exists(t)), "docker-compose.yml: ")
	})
}

func TestDockerfileBuildsASmallNonRootImage(t *testing.T) {
	noProblems(t, deploytest.CheckDockerfile("Dockerfile", read(t, "Dockerfile")))
}

func TestDockerfileRulesCatchBreakage(t *testing.T) {
	src := string(read(t, "Dockerfile"))
	cases := []struct{ name, old, new, want string }{
		{"root", "USER 10001:10001", "USER root", "Dockerfile: final stage runs as root"},
		{"no user", "USER 10001:10001\n", "", "Dockerfile: final stage has no USER"},
		{"golang runtime", "FROM alpine:3.22", "FROM golang:1.26", "final stage is golang:1.26"},
		{"cgo", "ENV CGO_ENABLED=0 ", "ENV ", "build stage lacks CGO_ENABLED=0"},
		{"no trimpath", "-trimpath ", "", "build stage lacks -trimpath"},
		{"debug symbols", `-ldflags "-s -w -X`, `-ldflags "-X`, "build stage lacks -s -w"},
		{"wrong stage", "COPY --from=build ", "COPY --from=builder ", "COPY --from=builder names no stage"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(src, c.old) {
				t.Fatalf("Dockerfile no longer contains %q: update the test", c.old)
			}
			wantProblem(t, deploytest.CheckDockerfile("Dockerfile", []byte(strings.Replace(src, c.old, c.new, 1))), c.want)
		})
	}
	t.Run("single stage", func(t *testing.T) {
		wantProblem(t, deploytest.CheckDockerfile("Dockerfile", []byte("FROM golang:1.26\nRUN go build ./cmd/opencommerce\n")), "single stage")
	})
}

// The build context must keep what the build needs.
func TestDockerignoreKeepsTheSources(t *testing.T) {
	for _, line := range strings.Split(string(read(t, ".dockerignore")), "\n") {
		line = strings.TrimSpace(line)
		switch line {
		case "go.mod", "go.sum", "cmd", "internal", "contracts", "services", "edge", "platform", "tools", "*", "**", "*.go", "**/*.go":
			t.Errorf(".dockerignore excludes %q, which the build needs", line)
		}
	}
}

// The image runs as an unprivileged user; a host volume folder made as
// nomad/README.md says must belong to that user, or the file service stops
// at start (mkdir /data/tmp: permission denied). make test-deploy makes the
// folder the same way.
func TestReadmeVolumeStepsGiveTheImageUserItsFolder(t *testing.T) {
	readme := string(read(t, "nomad/README.md"))
	for _, df := range []string{"Dockerfile", "Dockerfile.release"} {
		user := ""
		for _, line := range strings.Split(string(read(t, df)), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "USER" {
				user = f[1]
			}
		}
		uid, gid, _ := strings.Cut(user, ":")
		if uid == "" || uid == "0" || uid == "root" {
			t.Fatalf("%s: USER %q, want an unprivileged numeric user", df, user)
		}
		if gid == "" {
			gid = uid
		}
		want := "install -d -o " + uid + " -g " + gid + " /opt/oc/files"
		if !strings.Contains(readme, want) {
			t.Errorf("nomad/README.md: the files volume is not made for the image's user (%s): want %q", df, want)
		}
	}
}
