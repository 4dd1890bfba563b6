package platform

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/opencommerce/opencommerce/internal/config"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/services/user"
)

// UserAdminHelp is the one-line help of the `opencommerce user` subcommand.
const UserAdminHelp = "user service operations: rotate-key, create-admin -email E -password P"

// UserAdmin runs an operator's operation on the user database directly
// (`opencommerce user rotate-key` or `user create-admin -email E -password
// P`): the first admin never comes from the public API. args are the
// operation and its flags, environ the process environment (OC_… variables,
// as for the modules); what was done is printed on stdout, flag errors on
// stderr. It lives in the composition root so that cmd/ imports no service.
func UserAdmin(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("want rotate-key or create-admin")
	}
	op, args := args[0], args[1:]
	if op != "rotate-key" && op != "create-admin" {
		return fmt.Errorf("unknown operation %q: want rotate-key or create-admin", op)
	}
	fs := flag.NewFlagSet("user "+op, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var pgc pg.Config
	pgc.RegisterFlags(fs)
	prefix := fs.String("pg.database-prefix", "oc_", "prefix of the service databases")
	var ucfg user.Config
	ucfg.RegisterFlags(fs)
	email := fs.String("email", "", "create-admin: the admin's email")
	password := fs.String("password", "", "create-admin: the admin's password (or OC_PASSWORD)")
	if err := config.Load(fs, args, environ); err != nil {
		return err
	}
	if op == "create-admin" && (*email == "" || *password == "") {
		return fmt.Errorf("create-admin needs -email and -password")
	}
	pool, err := pg.Open(ctx, pgc, *prefix+"user", nil)
	if err != nil {
		return err
	}
	defer pool.Close()
	switch op {
	case "rotate-key":
		kid, err := user.RotateKey(ctx, pool, ucfg)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new signing key %s is active; the previous key stays published until its tokens expire\n", kid)
	case "create-admin":
		u, err := user.BootstrapAdmin(ctx, pool, ucfg, *email, *password)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "admin %s (%s) is ready\n", u.Email, u.ID)
	}
	return nil
}
