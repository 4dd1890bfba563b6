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
	return writeOrCheck(*out, md, *check, stdout)
}

// writeOrCheck writes a generated file, or with check only compares it
// with what is on disk and fails while it differs ("run make docs").
func writeOrCheck(path string, want []byte, check bool, stdout io.Writer) error {
	if !check {
		return os.WriteFile(path, want, 0o644)
	}
	cur, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if !bytes.Equal(cur, want) {
		return fmt.Errorf("%s is stale: run make docs", path)
	}
	fmt.Fprintf(stdout, "%s is current\n", path)
	return nil
}
