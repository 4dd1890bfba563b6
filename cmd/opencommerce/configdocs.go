package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/opencommerce/opencommerce/internal/config"
)

// The configuration table lives in README.md between these markers;
// gen-config-docs rewrites what is between them and nothing else.
const (
	configDocsFile  = "README.md"
	configDocsBegin = "<!-- config:begin -->"
	configDocsEnd   = "<!-- config:end -->"
)

func init() {
	subcommands["gen-config-docs"] = subcommand{"write (or -check) the configuration table in " + configDocsFile, genConfigDocs}
}

func genConfigDocs(_ context.Context, args, _ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen-config-docs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", configDocsFile, "the file holding the table between "+configDocsBegin+" and "+configDocsEnd)
	check := fs.Bool("check", false, "only check that the table is current")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cur, err := os.ReadFile(*out)
	if err != nil {
		return err
	}
	doc, err := withConfigTable(cur)
	if err != nil {
		return fmt.Errorf("%s: %w", *out, err)
	}
	return writeOrCheck(*out, doc, *check, stdout)
}

// configTable is the Markdown of every flag of the binary.
func configTable() []byte {
	fs, _, _, _, _ := platformFlags(io.Discard)
	var b bytes.Buffer
	b.WriteString("<!-- generated from the flags by `make docs` (opencommerce gen-config-docs); do not edit -->\n\n")
	b.Write(config.Markdown(fs))
	return b.Bytes()
}

// withConfigTable returns doc with the text between the markers replaced
// by the current table.
func withConfigTable(doc []byte) ([]byte, error) {
	begin := bytes.Index(doc, []byte(configDocsBegin))
	end := bytes.Index(doc, []byte(configDocsEnd))
	if begin < 0 || end < begin {
		return nil, fmt.Errorf("no %s ... %s section", configDocsBegin, configDocsEnd)
	}
	var b bytes.Buffer
	b.Write(doc[:begin+len(configDocsBegin)])
	b.WriteString("\n")
	b.Write(configTable())
	b.Write(doc[end:])
	return b.Bytes(), nil
}
