package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/opencommerce/opencommerce/tools/nomadgen"
)

func init() {
	subcommands["gen-nomad"] = subcommand{"write (or -check) the module jobs nomad/<module>.nomad.hcl from their one template", genNomad}
}

func genNomad(_ context.Context, args, _ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen-nomad", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "nomad", "directory of the job files")
	check := fs.Bool("check", false, "only check that the files are current")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *check {
		if err := nomadgen.Check(*out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: the module jobs are current\n", *out)
		return nil
	}
	return nomadgen.Write(*out)
}
