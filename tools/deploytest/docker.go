package deploytest

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// ComposeFile is the part of a docker-compose file that the checks read.
type ComposeFile struct {
	Services map[string]ComposeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

// ComposeService is one service of a docker-compose file.
type ComposeService struct {
	Image       string                    `yaml:"image"`
	Build       any                       `yaml:"build"`
	Command     any                       `yaml:"command"`
	Restart     string                    `yaml:"restart"`
	Healthcheck *ComposeHealthcheck       `yaml:"healthcheck"`
	DependsOn   map[string]ComposeDepends `yaml:"depends_on"`
	Volumes     []string                  `yaml:"volumes"`
	Environment map[string]string         `yaml:"environment"`
}

// ComposeHealthcheck is a service's healthcheck.
type ComposeHealthcheck struct {
	Test    any  `yaml:"test"`
	Disable bool `yaml:"disable"`
}

// ComposeDepends is one depends_on entry (long form).
type ComposeDepends struct {
	Condition string `yaml:"condition"`
}

// CheckCompose checks docker-compose.yml: every module runs as its own
// service with its -target and depends on healthy infrastructure, every
// infrastructure server is there, every long-running service has a
// healthcheck and a restart policy, one-shot services are waited for with
// service_completed_successfully, and every depends_on names a service.
// exists reports whether a bind-mounted host path exists.
func CheckCompose(path string, src []byte, exists func(string) bool) []string {
	var c ComposeFile
	if err := yaml.Unmarshal(src, &c); err != nil {
		return []string{fmt.Sprintf("%s: %v", path, err)}
	}
	var p problems
	oneShot := map[string]bool{}
	for _, s := range c.Services {
		for dep, d := range s.DependsOn {
			if d.Condition == "service_completed_successfully" {
				oneShot[dep] = true
			}
		}
	}
	for _, name := range append(ServiceNames(), Infrastructure...) {
		if _, ok := c.Services[name]; !ok {
			p.add(path, "no service %q", name)
		}
	}
	if _, ok := c.Services["consul"]; !ok {
		p.add(path, "no service \"consul\"")
	}
	names := make([]string, 0, len(c.Services))
	for n := range c.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		s := c.Services[name]
		where := path + ": service " + name
		switch {
		case s.Restart == "":
			p.add(where, "no restart policy")
		case !oneShot[name] && s.Restart != "always" && s.Restart != "unless-stopped":
			p.add(where, "restart %q for a long-running service, want unless-stopped or always", s.Restart)
		}
		if !oneShot[name] && (s.Healthcheck == nil || s.Healthcheck.Disable || s.Healthcheck.Test == nil) {
			p.add(where, "no healthcheck")
		}
		deps := make([]string, 0, len(s.DependsOn))
		for d := range s.DependsOn {
			deps = append(deps, d)
		}
		sort.Strings(deps)
		for _, d := range deps {
			cond := s.DependsOn[d].Condition
			if _, ok := c.Services[d]; !ok {
				p.add(where, "depends on unknown service %q", d)
			}
			switch cond {
			case "service_healthy", "service_completed_successfully":
			default:
				p.add(where, "depends on %s with condition %q, want service_healthy (or service_completed_successfully for a one-shot)", d, cond)
			}
		}
		for _, v := range s.Volumes {
			host, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(host, "./") && exists != nil && !exists(strings.TrimPrefix(host, "./")) {
				p.add(where, "mounts %s, which does not exist", host)
			}
		}
		if host, _, ok := strings.Cut(firstVolumeName(s.Volumes), ":"); ok && !strings.HasPrefix(host, ".") && !strings.HasPrefix(host, "/") {
			if _, declared := c.Volumes[host]; !declared {
				p.add(where, "named volume %q is not declared", host)
			}
		}
	}
	for _, svc := range Services {
		s, ok := c.Services[svc.Name]
		if !ok {
			continue
		}
		where := path + ": service " + svc.Name
		args := commandArgs(s.Command)
		if !slices.Contains(args, "-target="+svc.Name) {
			p.add(where, "command %q lacks -target=%s", args, svc.Name)
		}
		if s.Build == nil && s.Image == "" {
			p.add(where, "neither build nor image")
		}
		for _, infra := range []string{"postgres", "rabbitmq"} {
			if s.DependsOn[infra].Condition != "service_healthy" {
				p.add(where, "does not wait for %s to be healthy", infra)
			}
		}
	}
	return p.list
}

func firstVolumeName(vols []string) string {
	for _, v := range vols {
		if !strings.HasPrefix(v, ".") && !strings.HasPrefix(v, "/") {
			return v
		}
	}
	return ""
}

// commandArgs returns a compose command as a list of words.
func commandArgs(cmd any) []string {
	switch c := cmd.(type) {
	case string:
		return strings.Fields(c)
	case []any:
		var out []string
		for _, x := range c {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

// DockerStage is one stage of a Dockerfile.
type DockerStage struct {
	Base, Name   string
	Instructions []string // each instruction on one line, continuation joined
	User         string   // the last USER of the stage, "" if none
}

// ParseDockerfile splits a Dockerfile into its stages.
func ParseDockerfile(src []byte) ([]DockerStage, error) {
	var stages []DockerStage
	var cur strings.Builder
	var lines []string
	for _, raw := range strings.Split(string(src), "\n") {
		line := strings.TrimSpace(raw)
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		lines = append(lines, strings.TrimSpace(cur.String()))
		cur.Reset()
	}
	from := regexp.MustCompile(`(?i)^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$`)
	for _, l := range lines {
		word, rest, _ := strings.Cut(l, " ")
		switch strings.ToUpper(word) {
		case "FROM":
			m := from.FindStringSubmatch(l)
			if m == nil {
				return nil, fmt.Errorf("cannot read %q", l)
			}
			stages = append(stages, DockerStage{Base: m[1], Name: m[2]})
			continue
		case "USER":
			if len(stages) > 0 {
				stages[len(stages)-1].User = strings.TrimSpace(rest)
			}
		}
		if len(stages) == 0 {
			if strings.ToUpper(word) == "ARG" {
				continue
			}
			return nil, fmt.Errorf("instruction before FROM: %q", l)
		}
		stages[len(stages)-1].Instructions = append(stages[len(stages)-1].Instructions, l)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return stages, nil
}

// CheckDockerfile checks the image build: multi-stage, a static build
// (CGO_ENABLED=0, -trimpath, -ldflags "-s -w") of ./cmd/opencommerce in a
// golang stage, and a final stage that is not a Go toolchain image and runs
// as a non-root USER.
func CheckDockerfile(path string, src []byte) []string {
	stages, err := ParseDockerfile(src)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", path, err)}
	}
	var p problems
	if len(stages) < 2 {
		p.add(path, "single stage: build in a golang stage, run in a small one")
	}
	final := stages[len(stages)-1]
	if strings.HasPrefix(final.Base, "golang") {
		p.add(path, "final stage is %s: the runtime image must not carry the Go toolchain", final.Base)
	}
	switch u := strings.Split(final.User, ":")[0]; u {
	case "":
		p.add(path, "final stage has no USER: it would run as root")
	case "root", "0":
		p.add(path, "final stage runs as %s", final.User)
	}
	var build *DockerStage
	for i := range stages[:len(stages)-1] {
		if strings.HasPrefix(stages[i].Base, "golang:1.26") {
			build = &stages[i]
		}
	}
	if build == nil {
		p.add(path, "no golang:1.26 build stage")
	} else {
		all := strings.Join(build.Instructions, "\n")
		for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-s -w`, "./cmd/opencommerce"} {
			if !strings.Contains(all, want) {
				p.add(path, "build stage lacks %s", want)
			}
		}
	}
	names := map[string]bool{}
	for _, s := range stages {
		if s.Name != "" {
			names[s.Name] = true
		}
	}
	copyFrom := regexp.MustCompile(`--from=(\S+)`)
	for _, l := range final.Instructions {
		if m := copyFrom.FindStringSubmatch(l); m != nil && !names[m[1]] {
			p.add(path, "COPY --from=%s names no stage", m[1])
		}
	}
	return p.list
}
