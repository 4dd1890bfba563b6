package main

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencommerce/opencommerce/internal/testenv"
)

func dropDatabases(t *testing.T, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, testenv.PGURL)
	if err != nil {
		return
	}
	defer c.Close(ctx)
	rows, _ := c.Query(ctx, "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix)
	names, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, n := range names {
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)")
	}
}
