package pg

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// DropDatabases drops every database on the server at serverURL whose name
// starts with prefix (FORCE: open connections are ended). It is for tools
// and tests that made databases under a unique prefix (Open with
// DBPrefix+service) and clean up after themselves; a production
// deployment never calls it.
func DropDatabases(ctx context.Context, serverURL, prefix string) error {
	if prefix == "" {
		return errors.New("pg: refusing to drop databases without a prefix")
	}
	c, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return fmt.Errorf("drop databases: %w", err)
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
