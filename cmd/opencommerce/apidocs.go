package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/opencommerce/opencommerce/edge"
)

func init() {
	subcommands["openapi"] = subcommand{"print (or -out) the OpenAPI document the gateway serves", printOpenAPI}
	subcommands["gen-api-docs"] = subcommand{"write (or -check) the API reference, " + edge.APIReferenceFile, genAPIDocs}
}

func printOpenAPI(_ context.Context, args, _ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("openapi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "write the document to this file instead of stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	doc, err := edge.OpenAPI(edge.Routes())
	if err != nil {
		return err
	}
	doc = append(doc, '\n')
	if *out == "" {
		_, err = stdout.Write(doc)
		return err
	}
	return os.WriteFile(*out, doc, 0o644)
}

func genAPIDocs(_ context.Context, args, _ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen-api-docs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", edge.APIReferenceFile, "the reference file")
	check := fs.Bool("check", false, "only check that the file is current")
	if err := fs.Parse(args); err != nil {
		return err
	}
	md, err := edge.APIReference(edge.Routes())
	if err != nil {
		return err
	}
	if *check {
		cur, err := os.ReadFile(*out)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if !bytes.Equal(cur, md) {
			return fmt.Errorf("%s is stale: run make docs", *out)
		}
		fmt.Fprintf(stdout, "%s is current\n", *out)
		return nil
	}
	return os.WriteFile(*out, md, 0o644)
}
