package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/config"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/tools/loadgen"
)

func init() {
	subcommands["loadgen"] = subcommand{"seed a catalogue and drive a storefront load through the gateway, with a report and a consistency check", loadgenCmd}
}

func loadgenCmd(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg loadgen.Config
	cfg.RegisterFlags(fs)
	var pgc pg.Config
	pgc.RegisterFlags(fs)
	var amqpCfg bus.Config
	amqpCfg.RegisterFlags(fs)
	prefix := fs.String("pg.database-prefix", "oc_", "prefix of the service databases (for -check.charges-db)")
	chargesDB := fs.Bool("check.charges-db", false, "count successful charges in the order database (<prefix>order) for the consistency check")
	out := fs.String("out", "", "also write the report as JSON to this file")
	if err := config.Load(fs, args, environ); err != nil {
		return err
	}
	open := func(service string) (*pgxpool.Pool, error) { return pg.Open(ctx, pgc, *prefix+service, nil) }
	if cfg.Seed == loadgen.SeedDirect {
		// The product service makes the products (product.seed over
		// -amqp.url); this command never opens its database.
		seeder, err := loadgen.DialProductSeeder(ctx, amqpCfg)
		if err != nil {
			return err
		}
		defer seeder.Close()
		cfg.DirectSeed = seeder.Seed
	}
	if *chargesDB {
		pool, err := open("order")
		if err != nil {
			return fmt.Errorf("order database: %w", err)
		}
		defer pool.Close()
		cfg.Charges = loadgen.PGChargeCounter(pool)
	}
	rep, err := loadgen.Run(ctx, cfg, loadgen.Options{Progress: stdout, TTY: isTerminal(stdout)})
	if rep != nil {
		fmt.Fprintln(stdout)
		rep.Format(stdout)
		if *out != "" {
			if werr := rep.WriteJSON(*out); werr != nil {
				err = errors.Join(err, werr)
			}
		}
	}
	if err != nil {
		return err
	}
	if rep.Failed() {
		return errors.New("the run had errors, unsettled orders or a failed consistency check (see the report)")
	}
	return nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
