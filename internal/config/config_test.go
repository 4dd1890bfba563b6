package config_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/internal/config"
)

func newFS() (*flag.FlagSet, *string, *int, *string) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(new(bytes.Buffer))
	a := fs.String("admin.addr", ":9090", "")
	n := fs.Int("amqp.max-in-flight", 10, "")
	p := fs.String("user.bootstrap-admin-password", "", "")
	return fs, a, n, p
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(file, []byte("admin.addr: \":7000\"\namqp.max-in-flight: 5\nuser.bootstrap-admin-password: s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fs, addr, n, pw := newFS()
	err := config.Load(fs, []string{"-admin.addr=:1111", "-config.file", file},
		[]string{"OC_AMQP_MAX_IN_FLIGHT=7", "PATH=/bin"})
	if err != nil {
		t.Fatal(err)
	}
	if *addr != ":1111" || *n != 7 || *pw != "s3cret" {
		t.Fatalf("got addr=%q n=%d pw=%q; want flag > env > file", *addr, *n, *pw)
	}
	var out bytes.Buffer
	if err := config.Print(&out, fs); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "s3cret") {
		t.Fatalf("secret printed:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "admin.addr: :1111") {
		t.Fatalf("print-config misses admin.addr:\n%s", out.String())
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("admin.adr: x\n"), 0o600)
	for name, tc := range map[string]struct {
		args []string
		env  []string
		want string
	}{
		"unknown file key": {[]string{"-config.file", bad}, nil, `unknown setting "admin.adr"`},
		"bad env value":    {nil, []string{"OC_AMQP_MAX_IN_FLIGHT=many"}, "OC_AMQP_MAX_IN_FLIGHT"},
		"missing file":     {[]string{"-config.file", filepath.Join(dir, "nope")}, nil, "config file"},
	} {
		t.Run(name, func(t *testing.T) {
			fs, _, _, _ := newFS()
			err := config.Load(fs, tc.args, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want mention of %q", err, tc.want)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	if got := config.EnvName("file.data-addr"); got != "OC_FILE_DATA_ADDR" {
		t.Fatal(got)
	}
}

// TestMarkdown: a table per group (general first), secrets' defaults
// empty, and text that would break a table cell escaped.
func TestMarkdown(t *testing.T) {
	fs, _, _, _ := newFS()
	fs.String("target", "all", "modules to run: a|b")
	fs.String("consul.static-poll-interval", "1s", "how often to inspect rpc.<service> queues")
	fs.String("smtp.password", "not-empty", "the password")
	md := string(config.Markdown(fs))
	for _, want := range []string{
		"#### General\n\n| flag | environment | default | description |\n|---|---|---|---|\n| `-target` | `OC_TARGET` | `all` | modules to run: a\\|b |\n",
		"#### `admin.*`",
		"| `-admin.addr` | `OC_ADMIN_ADDR` | `:9090` |",
		"| `-user.bootstrap-admin-password` | `OC_USER_BOOTSTRAP_ADMIN_PASSWORD` |  |",
		"| `-smtp.password` | `OC_SMTP_PASSWORD` |  | the password |",
		"rpc.&lt;service&gt; queues",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("missing %q in:\n%s", want, md)
		}
	}
	if strings.Index(md, "#### General") > strings.Index(md, "#### `admin.*`") {
		t.Errorf("the general flags are not first:\n%s", md)
	}
}

// TestSecret: the flags whose value is a secret, and not those that only
// mention one in their name.
func TestSecret(t *testing.T) {
	for name, want := range map[string]bool{
		"smtp.password": true, "user.bootstrap-admin-password": true, "consul.token": true,
		"file.internal-token": true, "gateway.file-internal-token": true, "user.key-encryption-key": true,
		"notification.unsubscribe-key": true, "x.client-secret": true,
		"gateway.token-leeway": false, "user.key-cache-ttl": false, "consul.config-key": false, "admin.addr": false,
	} {
		if got := config.Secret(name); got != want {
			t.Errorf("Secret(%q) = %v, want %v", name, got, want)
		}
	}
}
