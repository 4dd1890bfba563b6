package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/opencommerce/opencommerce/internal/config"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/services/user"
)

func init() {
	subcommands["user"] = subcommand{"user service operations: rotate-key, create-admin -email E -password P", userCmd}
}

// userCmd runs an operation on the user database directly, for operators:
// the first admin never comes from the public API.
func userCmd(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("want rotate-key or create-admin")
	}
	op, args := args[0], args[1:]
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
		if *email == "" || *password == "" {
			return fmt.Errorf("create-admin needs -email and -password")
		}
		u, err := user.BootstrapAdmin(ctx, pool, ucfg, *email, *password)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "admin %s (%s) is ready\n", u.Email, u.ID)
	default:
		return fmt.Errorf("unknown operation %q: want rotate-key or create-admin", op)
	}
	return nil
}
