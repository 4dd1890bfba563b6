package main

import (
	"bytes"
	"encoding/json"
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

func TestListAndVerify(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-list-targets"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if got := strings.Fields(out.String()); strings.Join(got, ",") != "gateway,user,product,order,notification,file" {
		t.Fatalf("targets = %v", got)
	}
	for name, tc := range map[string]struct {
		args []string
		env  []string
		code int
		want string
	}{
		"valid":          {[]string{"-verify-config"}, nil, 0, "configuration is valid"},
		"unknown target": {[]string{"-verify-config", "-target=user,shop"}, nil, 1, `target "shop"`},
		"bad env":        {[]string{"-verify-config"}, []string{"OC_ADMIN_ADDR=nowhere"}, 1, "admin.addr"},
		"bad flag":       {[]string{"-no-such-flag"}, nil, 2, "no-such-flag"},
		"unknown cmd":    {[]string{"frobnicate"}, nil, 2, "unknown command"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, tc.env, &out, &errb)
			if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
				t.Fatalf("exit %d (want %d), output %q, want mention of %q", code, tc.code, out.String()+errb.String(), tc.want)
			}
		})
	}
}

func TestPrintConfigMasksSecrets(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"-print-config"}, []string{"OC_USER_BOOTSTRAP_ADMIN_PASSWORD=hunter2hunter2", "OC_ADMIN_ADDR=:7777"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.Contains(out.String(), "hunter2") {
		t.Fatal("a password was printed")
	}
	if !strings.Contains(out.String(), "admin.addr: :7777") {
		t.Fatalf("env value not reflected:\n%s", out.String())
	}
}

// The real binary: it becomes ready on the real servers, and on SIGTERM
// /readyz turns 503 while the process drains, then it exits 0.
func TestProcessLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "opencommerce")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	amqpURL := testenv.AMQP(t)
	_ = testenv.PG(t) // fails or skips when PostgreSQL is away
	_, redisPrefix := testenv.Redis(t)
	admin := testenv.FreeAddr(t)
	prefix := testenv.Name("octp") + "_"
	t.Cleanup(func() { testenv.DropDatabases(prefix) })

	cmd := exec.Command(bin, "-target=user", "-shutdown.delay=1s")
	cmd.Env = append(os.Environ(),
		"OC_ADMIN_ADDR="+admin, "OC_AMQP_URL="+amqpURL, "OC_PG_DATABASE_PREFIX="+prefix,
		"OC_REDIS_PREFIX="+redisPrefix, "OC_LOG_LEVEL=warn")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	url := "http://" + admin + "/readyz"
	waitReady(t, url, http.StatusOK, exited, &logs)
	var st struct {
		Ready  bool
		Checks map[string]string
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	for _, c := range []string{"amqp", "pg:user", "redis"} {
		if st.Checks[c] != "ok" {
			t.Fatalf("readyz check %s = %q (all: %v)", c, st.Checks[c], st.Checks)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitReady(t, url, http.StatusServiceUnavailable, exited, &logs)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("no exit after SIGTERM\n%s", logs.String())
	}
}

func waitReady(t *testing.T, url string, want int, exited chan error, logs *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("process exited early (%v):\n%s", err, logs.String())
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never answered %d\n%s", url, want, logs.String())
}
