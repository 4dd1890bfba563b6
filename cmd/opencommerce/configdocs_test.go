package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/internal/config"
)

// TestConfigTableInREADMEIsCurrent fails while the table of every setting
// in README.md differs from the flags: run make docs.
func TestConfigTableInREADMEIsCurrent(t *testing.T) {
	path := filepath.Join("..", "..", configDocsFile)
	cur, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := withConfigTable(cur)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cur, want) {
		t.Fatalf("the configuration table in %s is stale: run make docs (or go run ./cmd/opencommerce gen-config-docs)", configDocsFile)
	}
}

// TestGenConfigDocsCommand: -check fails on a stale table, the command
// rewrites only what is between the markers, every flag of the binary is
// in the table with its environment variable, and secrets' defaults are
// not shown.
func TestGenConfigDocsCommand(t *testing.T) {
	file := filepath.Join(t.TempDir(), "README.md")
	before := "# Title\n\ntext before\n\n" + configDocsBegin + "\nold table\n" + configDocsEnd + "\n\ntext after\n"
	if err := os.WriteFile(file, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"gen-config-docs", "-out", file, "-check"}, nil, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "stale") {
		t.Fatalf("check of a stale table: exit %d: %s", code, errb.String())
	}
	if code := run([]string{"gen-config-docs", "-out", file}, nil, &out, &errb); code != 0 {
		t.Fatalf("gen-config-docs: exit %d: %s", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"gen-config-docs", "-out", file, "-check"}, nil, &out, &errb); code != 0 {
		t.Fatalf("check after writing: exit %d: %s", code, errb.String())
	}
	doc, _ := os.ReadFile(file)
	md := string(doc)
	if !strings.HasPrefix(md, "# Title\n\ntext before\n\n"+configDocsBegin+"\n") ||
		!strings.HasSuffix(md, configDocsEnd+"\n\ntext after\n") || strings.Contains(md, "old table") {
		t.Fatalf("the text around the markers changed or the old table stayed:\n%.600s", md)
	}

	fs, _, _, _, _ := platformFlags(io.Discard)
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		row := "| `-" + f.Name + "` | `" + config.EnvName(f.Name) + "` | "
		i := strings.Index(md, row)
		if i < 0 {
			t.Errorf("no row for -%s", f.Name)
			return
		}
		cells := strings.SplitN(md[i+len(row):], " | ", 2)
		if config.Secret(f.Name) && cells[0] != "" {
			t.Errorf("the default of the secret -%s is shown: %q", f.Name, cells[0])
		}
	})
	if n < 100 {
		t.Fatalf("only %d flags: not the binary's FlagSet", n)
	}
	for _, want := range []string{"| `-gateway.addr` | `OC_GATEWAY_ADDR` | `:8080` |", "#### `gateway.*`", "#### General",
		"| `-config.file` | `OC_CONFIG_FILE` |"} {
		if !strings.Contains(md, want) {
			t.Errorf("the table lacks %q", want)
		}
	}

	if err := os.WriteFile(file, []byte("# no markers\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run([]string{"gen-config-docs", "-out", file}, nil, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), configDocsBegin) {
		t.Fatalf("a file without markers: exit %d: %s", code, errb.String())
	}
}
