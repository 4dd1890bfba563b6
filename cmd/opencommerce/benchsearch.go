package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/opencommerce/opencommerce/internal/config"
	"github.com/opencommerce/opencommerce/tools/benchsuite"
)

func init() {
	subcommands["bench-search"] = subcommand{"product search and suggestions through product.list/product.suggest RPCs on product services in process (search caches on and off), beside bare indexed SELECTs (see BENCHMARKS.md)", benchSearchCmd}
}

func benchSearchCmd(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench-search", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opt benchsuite.SearchOptions
	opt.Servers.RegisterFlags(fs) // fresh vhosts, a fresh database and key prefixes on these, removed after
	fs.StringVar(&opt.Database, "database", "", "measure this product database (<pg.database-prefix>product), seeded before, instead of seeding a fresh one (it is kept)")
	fs.IntVar(&opt.Products, "products", 100_000, "catalogue size, seeded through product.seed")
	fs.DurationVar(&opt.Duration, "duration", 6*time.Second, "measuring time of each figure (split into interleaved rounds)")
	fs.IntVar(&opt.InFlight, "inflight", 16, "calls in flight")
	out := fs.String("out", "", "write the results as JSON to this file")
	if err := config.Load(fs, args, environ); err != nil {
		return err
	}
	opt.Progress = stderr
	res, err := benchsuite.RunSearch(ctx, opt)
	if err != nil {
		return err
	}
	res.Command = "opencommerce bench-search " + strings.Join(args, " ")
	res.Format(stdout)
	if *out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*out, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nresults written to %s\n", *out)
	}
	return nil
}
