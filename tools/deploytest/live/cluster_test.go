package live_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/testenv"
)

// tools are the binaries the deployment test runs. make test-deploy passes
// them in the environment (scripts/deploy-tools.sh path NAME).
type tools struct {
	nomad, consul, prometheus, dockerd, docker, mailpit string
}

// findTools returns the tools, failing (never skipping) when one is missing.
func findTools(t *testing.T) tools {
	t.Helper()
	get := func(env, name string) string {
		if p := os.Getenv(env); p != "" {
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("%s=%s: %v", env, p, err)
			}
			return p
		}
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("%s not found: set %s or run scripts/deploy-tools.sh (make test-deploy does both)", name, env)
		}
		return p
	}
	tl := tools{
		nomad:   get("OC_NOMAD_BIN", "nomad"),
		consul:  get("OC_CONSUL_BIN", "consul"),
		dockerd: get("OC_DOCKERD_BIN", "dockerd"),
		mailpit: get("OC_MAILPIT_BIN", "mailpit"),
	}
	// Debian's docker.io CLI speaks to Debian's dockerd without BuildKit.
	if _, err := os.Stat("/usr/bin/docker"); err == nil {
		tl.docker = "/usr/bin/docker"
	} else {
		tl.docker = get("OC_DOCKER_BIN", "docker")
	}
	if p := os.Getenv("OC_PROMETHEUS_BIN"); p != "" {
		tl.prometheus = p
	}
	return tl
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proc is a process the test started; stop ends it (SIGTERM, then SIGKILL).
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	// marker is in the environment of the process and its descendants.
	marker string
}

func start(t *testing.T, dir, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	marker := runMarker + "-" + name
	cmd.Env = append(append(os.Environ(), env...), marker)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{}), marker: marker}
	go func() { _ = cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *proc) stop(t *testing.T) {
	defer killDescendants(t, p.name, p.marker)
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Logf("%s did not stop in 30s: killing it", p.name)
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// runMarker, with the process's name, is in the environment of every
// process this test starts, and so of theirs: Nomad's logmon and docker_logger plugins detach from the
// agent (to outlive an agent restart) and stay after it stops unless they
// are found by it.
var runMarker = fmt.Sprintf("OC_DEPLOY_RUN=%d-%d", os.Getpid(), time.Now().UnixNano())

// killDescendants kills every process left with marker (the one of the
// process named name, which has stopped) in its environment.
func killDescendants(t *testing.T, name, marker string) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	killed := 0
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, []byte(marker+"\x00")) {
			continue
		}
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed++
		}
	}
	if killed > 0 {
		t.Logf("after %s stopped: killed %d processes it had left (plugins that detach)", name, killed)
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// tail returns the end of the process's log, for failure messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// run runs a command to completion and returns its combined output.
func run(ctx context.Context, dir string, env []string, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustRun(t *testing.T, dir string, env []string, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := run(ctx, dir, env, bin, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
	return out
}

// eventually polls cond (testenv.Poll) until it holds or within has
// passed; cond also says why it does not hold yet, and the last reason it
// gave names the failure.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	last := ""
	held := testenv.Poll(within, func() bool {
		ok, why := cond()
		if why != "" {
			last = why
		}
		return ok
	})
	if !held {
		t.Fatalf("%s: not within %v (last: %s)", what, within, last)
	}
}

var httpc = &http.Client{Timeout: 20 * time.Second}

// call sends a JSON request and decodes a JSON answer into out (when not
// nil); it returns the status and body.
func call(method, url string, body any, out any, headers ...string) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		if b, ok := body.([]byte); ok {
			rd = bytes.NewReader(b)
		} else {
			b, err := json.Marshal(body)
			if err != nil {
				return 0, nil, nil, err
			}
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := httpc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, b, resp.Header, err
	}
	if out != nil && resp.StatusCode < 300 && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, b, resp.Header, fmt.Errorf("decode %s: %w", b, err)
		}
	}
	return resp.StatusCode, b, resp.Header, nil
}
