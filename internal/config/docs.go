package config

import (
	"bytes"
	"flag"
	"fmt"
	"sort"
	"strings"
)

// RegisterFileFlag registers FileFlag on fs, the flag Load reads the
// optional YAML file from.
func RegisterFileFlag(fs *flag.FlagSet) {
	fs.String(FileFlag, "", "optional YAML file of flag-name: value pairs")
}

// GeneralGroup is the group of the flags whose name has no "prefix.".
const GeneralGroup = "general"

// Group is the part of a flag name before its first dot ("gateway" for
// gateway.addr), or GeneralGroup.
func Group(name string) string {
	if g, _, ok := strings.Cut(name, "."); ok {
		return g
	}
	return GeneralGroup
}

// Markdown documents every flag of fs: a Markdown table per group (by
// Group, the general flags first, then the groups by name), each row the
// flag, its environment variable, its default and its description. The
// defaults of secrets (Secret) are shown empty, as -print-config masks
// their values. The result is stable: it depends only on the flags.
func Markdown(fs *flag.FlagSet) []byte {
	groups := map[string][]*flag.Flag{}
	fs.VisitAll(func(f *flag.Flag) { groups[Group(f.Name)] = append(groups[Group(f.Name)], f) })
	names := make([]string, 0, len(groups))
	for g := range groups {
		if g != GeneralGroup {
			names = append(names, g)
		}
	}
	sort.Strings(names)
	if len(groups[GeneralGroup]) > 0 {
		names = append([]string{GeneralGroup}, names...)
	}
	var b bytes.Buffer
	for i, g := range names {
		if i > 0 {
			b.WriteByte('\n')
		}
		if g == GeneralGroup {
			fmt.Fprintf(&b, "#### General\n\n")
		} else {
			fmt.Fprintf(&b, "#### `%s.*`\n\n", g)
		}
		b.WriteString("| flag | environment | default | description |\n|---|---|---|---|\n")
		for _, f := range groups[g] { // VisitAll gives them sorted by name
			def := f.DefValue
			if Secret(f.Name) {
				def = ""
			}
			fmt.Fprintf(&b, "| `-%s` | `%s` | %s | %s |\n", f.Name, EnvName(f.Name), code(def), cell(f.Usage))
		}
	}
	return b.Bytes()
}

// code is a default as a table cell: in backticks, nothing when empty.
func code(s string) string {
	if s == "" {
		return ""
	}
	s = strings.ReplaceAll(s, "|", `\|`)
	if strings.Contains(s, "`") {
		return "`` " + s + " ``"
	}
	return "`" + s + "`"
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("\n", " ", "|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}
