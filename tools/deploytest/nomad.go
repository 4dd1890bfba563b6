package deploytest

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// CheckNomadServiceJob checks the Nomad job of one module against the
// rules of the platform:
//
//   - one job named after the module, with an update block (canary,
//     auto_promote, auto_revert);
//   - each group: host networking with an "admin" port (and the module's
//     other named ports), restart and reschedule policies, shutdown_delay;
//   - each service: provider "consul", checks of type http on the admin port,
//     a /readyz check, check_restart on the liveness check only (an unready
//     instance is taken out of Consul, not restarted); the module's own
//     service is on the admin port and tagged "metrics";
//   - no update.stagger (deployments ignore it); restart mode "fail" (with
//     "delay" a crash-looping allocation never fails, so reschedule never
//     moves it);
//   - each task: args with -target=<name> and -consul.register=false,
//     OC_DEPS_EXPLICIT in its env (a server missing from Consul fails the
//     start instead of falling back to localhost), kill_timeout, resources
//     with cpu and memory, and templates that read Consul into env with
//     change_mode restart or signal and a splay (noop: Nomad does not
//     re-render on a task restart, so a restarted task kept old values).
func CheckNomadServiceJob(path string, src []byte, svc Service) []string {
	f, err := parseHCL(path, src)
	if err != nil {
		return []string{err.Error()}
	}
	var p problems
	jobs := blocks(f.body, "job")
	if len(jobs) != 1 {
		return []string{fmt.Sprintf("%s: want exactly one job, found %d", path, len(jobs))}
	}
	job := jobs[0]
	jp := path + ": job " + label(job)
	if label(job) != svc.Name {
		p.add(jp, "job is named %q, want %q", label(job), svc.Name)
	}
	if t, _ := f.str(job.Body, "type"); t != "" && t != "service" {
		p.add(jp, "type %q, want service", t)
	}
	groups := blocks(job.Body, "group")
	if len(groups) == 0 {
		p.add(jp, "no group")
	}
	jobUpdate := blocks(job.Body, "update")
	for _, g := range groups {
		gp := path + ": group " + label(g)
		update := append(blocks(g.Body, "update"), jobUpdate...)
		checkUpdate(&p, gp, update)
		checkGroup(&p, f, gp, g.Body, svc)
	}
	return p.list
}

func checkUpdate(p *problems, where string, update []*hclsyntax.Block) {
	if len(update) == 0 {
		p.add(where, "no update block")
		return
	}
	u := update[0].Body
	if n, ok := number(u, "canary"); !ok || n < 1 {
		p.add(where, "update: no canary")
	}
	if !boolean(u, "auto_promote") {
		p.add(where, "update: auto_promote is not true")
	}
	if !boolean(u, "auto_revert") {
		p.add(where, "update: auto_revert is not true")
	}
	if has(u, "stagger") {
		p.add(where, "update: stagger is ignored by deployments (max_parallel and min_healthy_time pace them)")
	}
}

func checkGroup(p *problems, f *hclFile, gp string, g *hclsyntax.Body, svc Service) {
	nets := blocks(g, "network")
	ports := map[string]bool{}
	if len(nets) == 0 {
		p.add(gp, "no network block")
	} else {
		if m, _ := f.str(nets[0].Body, "mode"); m != "host" {
			p.add(gp, "network mode %q, want host", m)
		}
		for _, port := range blocks(nets[0].Body, "port") {
			if has(port.Body, "static") {
				p.add(gp, "port %q is static, want dynamic", label(port))
			}
			ports[label(port)] = true
		}
	}
	for _, want := range append([]string{"admin"}, svc.Ports...) {
		if !ports[want] {
			p.add(gp, "no port %q", want)
		}
	}
	if rs := blocks(g, "restart"); len(rs) == 0 {
		p.add(gp, "no restart block")
	} else if m, _ := f.str(rs[0].Body, "mode"); m != "fail" {
		p.add(gp, "restart mode %q, want fail (with delay a crash-looping allocation never fails, so reschedule never moves it)", m)
	}
	if len(blocks(g, "reschedule")) == 0 {
		p.add(gp, "no reschedule block")
	}
	tasks := blocks(g, "task")
	shutdown := has(g, "shutdown_delay")
	for _, t := range tasks {
		shutdown = shutdown || has(t.Body, "shutdown_delay")
	}
	if !shutdown {
		p.add(gp, "no shutdown_delay (Consul must drop an instance before it stops)")
	}

	services := blocks(g, "service")
	for _, t := range tasks {
		services = append(services, blocks(t.Body, "service")...)
	}
	mainFound := false
	for _, s := range services {
		name, _ := f.str(s.Body, "name")
		sp := gp + ": service " + name
		if prov, _ := f.str(s.Body, "provider"); prov != "consul" {
			p.add(sp, "provider %q, want consul", prov)
		}
		checkChecks(p, f, sp, s.Body)
		if name == svc.Name {
			mainFound = true
			if port, _ := f.str(s.Body, "port"); port != "admin" {
				p.add(sp, "port %q, want admin (Prometheus scrapes the registered port)", port)
			}
			if !contains(f.strings(s.Body, "tags"), "metrics") {
				p.add(sp, "no metrics tag")
			}
		}
		if !contains(svc.Own, name) {
			p.add(sp, "registers a service not owned by %s (want one of %v)", svc.Name, svc.Own)
		}
	}
	if !mainFound {
		p.add(gp, "no service %q", svc.Name)
	}
	if len(tasks) == 0 {
		p.add(gp, "no task")
	}
	for _, t := range tasks {
		checkTask(p, f, gp+": task "+label(t), t.Body, svc)
	}
}

func checkChecks(p *problems, f *hclFile, sp string, s *hclsyntax.Body) {
	checks := blocks(s, "check")
	if len(checks) == 0 {
		p.add(sp, "no check")
		return
	}
	ready, restart := false, false
	for _, c := range checks {
		typ, _ := f.str(c.Body, "type")
		port, _ := f.str(c.Body, "port")
		path, _ := f.str(c.Body, "path")
		if typ != "http" || port != "admin" {
			p.add(sp, "check %q is %s on port %q, want http on admin", path, typ, port)
		}
		if path == "/readyz" {
			ready = true
		} else if path != "/healthz" {
			p.add(sp, "check path %q, want /readyz or /healthz", path)
		}
		if len(blocks(c.Body, "check_restart")) > 0 {
			if path == "/readyz" {
				p.add(sp, "check_restart on the /readyz check (an unready instance leaves Consul; restarting it does not help)")
			}
			restart = true
		}
	}
	if !ready {
		p.add(sp, "no /readyz check")
	}
	if !restart {
		p.add(sp, "no check_restart on the /healthz check")
	}
}

var consulLookup = regexp.MustCompile(`\b(service|key|keyOrDefault|ls|tree|safeLs|safeTree)\s+"`)

func checkTask(p *problems, f *hclFile, tp string, t *hclsyntax.Body, svc Service) {
	cfg := blocks(t, "config")
	var args []string
	if len(cfg) > 0 {
		args = f.strings(cfg[0].Body, "args")
	}
	if !contains(args, "-target="+svc.Name) {
		p.add(tp, "args %q lack -target=%s", args, svc.Name)
	}
	if !contains(args, "-consul.register=false") {
		p.add(tp, "args lack -consul.register=false (Nomad registers the services)")
	}
	for _, a := range args {
		if strings.HasPrefix(a, "-target=") && a != "-target="+svc.Name {
			p.add(tp, "args run %s, want -target=%s", a, svc.Name)
		}
	}
	if !has(t, "kill_timeout") {
		p.add(tp, "no kill_timeout")
	}
	res := blocks(t, "resources")
	if len(res) == 0 {
		p.add(tp, "no resources")
	} else {
		for _, r := range []string{"cpu", "memory"} {
			if n, ok := f.numberOrVar(res[0].Body, r); !ok || n <= 0 {
				p.add(tp, "resources: no %s", r)
			}
		}
	}
	explicit := false
	for _, e := range blocks(t, "env") {
		if v, _ := f.str(e.Body, "OC_DEPS_EXPLICIT"); v == "true" {
			explicit = true
		}
	}
	if !explicit {
		p.add(tp, `env lacks OC_DEPS_EXPLICIT = "true" (a server missing from Consul would fall back to localhost)`)
	}
	templates := blocks(t, "template")
	envFromConsul := false
	for _, tpl := range templates {
		dest, _ := f.str(tpl.Body, "destination")
		tpp := tp + ": template " + dest
		mode, ok := f.str(tpl.Body, "change_mode")
		switch {
		case !ok:
			p.add(tpp, "no change_mode")
		case mode == "noop":
			p.add(tpp, "change_mode noop (Nomad does not re-render on a task restart: a restarted task keeps the old values)")
		case (mode == "restart" || mode == "signal") && !has(tpl.Body, "splay"):
			p.add(tpp, "change_mode %s without splay (every allocation at once)", mode)
		}
		data, _ := f.str(tpl.Body, "data")
		if boolean(tpl.Body, "env") && consulLookup.MatchString(data) {
			envFromConsul = true
		}
	}
	if !envFromConsul {
		p.add(tp, "no template rendering Consul services or keys into env (env = true)")
	}
}

// NomadTemplateLookups returns the Consul service names and KV keys (or
// prefixes) that the templates of a Nomad job file read.
func NomadTemplateLookups(path string, src []byte) (services, keys []string, err error) {
	f, err := parseHCL(path, src)
	if err != nil {
		return nil, nil, err
	}
	svcRe := regexp.MustCompile(`\bservice\s+"([^"]+)"`)
	keyRe := regexp.MustCompile(`\b(?:key|keyOrDefault|ls|tree|safeLs|safeTree)\s+"([^"]+)"`)
	var walk func(b *hclsyntax.Body)
	walk = func(b *hclsyntax.Body) {
		for _, blk := range b.Blocks {
			if blk.Type == "template" {
				data, _ := f.str(blk.Body, "data")
				for _, m := range svcRe.FindAllStringSubmatch(data, -1) {
					name := m[1]
					if i := strings.LastIndex(name, "."); i >= 0 { // tag.name
						name = name[i+1:]
					}
					services = append(services, name)
				}
				for _, m := range keyRe.FindAllStringSubmatch(data, -1) {
					keys = append(keys, m[1])
				}
			}
			walk(blk.Body)
		}
	}
	walk(f.body)
	return services, keys, nil
}

// NomadFileReads returns the paths passed to file(...) in a Nomad job and,
// for each, whether the template holding it uses "[[" "]]" delimiters.
func NomadFileReads(path string, src []byte) (map[string]bool, error) {
	f, err := parseHCL(path, src)
	if err != nil {
		return nil, err
	}
	fileRe := regexp.MustCompile(`\bfile\("([^"]+)"\)`)
	out := map[string]bool{}
	var walk func(b *hclsyntax.Body)
	walk = func(b *hclsyntax.Body) {
		for _, blk := range b.Blocks {
			if blk.Type == "template" {
				data, _ := f.str(blk.Body, "data")
				left, _ := f.str(blk.Body, "left_delimiter")
				for _, m := range fileRe.FindAllStringSubmatch(data, -1) {
					out[m[1]] = left == "[["
				}
			}
			walk(blk.Body)
		}
	}
	walk(f.body)
	return out, nil
}

// problems collects rule violations as "where: what" lines.
type problems struct{ list []string }

func (p *problems) add(where, format string, args ...any) {
	p.list = append(p.list, where+": "+fmt.Sprintf(format, args...))
}

// NomadJobName parses a Nomad job file and returns the name of its one job.
func NomadJobName(path string, src []byte) (string, error) {
	f, err := parseHCL(path, src)
	if err != nil {
		return "", err
	}
	jobs := blocks(f.body, "job")
	if len(jobs) != 1 {
		return "", fmt.Errorf("%s: want exactly one job, found %d", path, len(jobs))
	}
	return label(jobs[0]), nil
}

// NomadDefaultCPU returns the CPU (MHz) a job's task reserves and its
// group's count, each with the job's variable defaults.
func NomadDefaultCPU(path string, src []byte) (cpu, count float64, err error) {
	f, err := parseHCL(path, src)
	if err != nil {
		return 0, 0, err
	}
	for _, job := range blocks(f.body, "job") {
		for _, g := range blocks(job.Body, "group") {
			count, _ = f.numberOrVar(g.Body, "count")
			for _, t := range blocks(g.Body, "task") {
				for _, r := range blocks(t.Body, "resources") {
					c, _ := f.numberOrVar(r.Body, "cpu")
					cpu += c
				}
			}
		}
	}
	if cpu == 0 || count == 0 {
		return 0, 0, fmt.Errorf("%s: no cpu or count found", path)
	}
	return cpu, count, nil
}
