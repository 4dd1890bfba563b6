package platform_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/platform"
)

// TestUserAdminCreatesAdminAndRotatesKey runs `opencommerce user
// create-admin` and `user rotate-key` on a fresh user database: the admin
// is created once and found again (idempotent), and a new signing key is
// announced.
func TestUserAdminCreatesAdminAndRotatesKey(t *testing.T) {
	testenv.PG(t) // skips (or fails under CI) without PostgreSQL
	prefix := testenv.Name("ocuc") + "_"
	t.Cleanup(func() { testenv.DropDatabases(prefix) })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	run := func(args ...string) string {
		t.Helper()
		var out, errs bytes.Buffer
		args = append(args, "-pg.url="+testenv.PGURL, "-pg.database-prefix="+prefix)
		if err := platform.UserAdmin(ctx, args, nil, &out, &errs); err != nil {
			t.Fatalf("user %v: %v (stderr %q)", args, err, errs.String())
		}
		return out.String()
	}
	first := run("create-admin", "-email", "root@example.com", "-password", "a-long-admin-password")
	if !strings.HasPrefix(first, "admin root@example.com (") || !strings.HasSuffix(first, ") is ready\n") {
		t.Fatalf("create-admin printed %q", first)
	}
	if again := run("create-admin", "-email", "root@example.com", "-password", "a-long-admin-password"); again != first {
		t.Fatalf("second create-admin printed %q, want the same account as %q", again, first)
	}
	if out := run("rotate-key"); !strings.HasPrefix(out, "new signing key ") {
		t.Fatalf("rotate-key printed %q", out)
	}
}

// TestUserAdminRefusesBadInvocations: the operator learns what is missing
// before anything touches a database.
func TestUserAdminRefusesBadInvocations(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "want rotate-key or create-admin"},
		{[]string{"delete-everyone"}, `unknown operation "delete-everyone"`},
		{[]string{"create-admin", "-email", "a@example.com"}, "create-admin needs -email and -password"},
	} {
		var out, errs bytes.Buffer
		err := platform.UserAdmin(context.Background(), tc.args, nil, &out, &errs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("user %v: err %v, want it to say %q", tc.args, err, tc.want)
		}
	}
}
