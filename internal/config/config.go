// Package config loads a process's configuration from, in order of
// precedence, command-line flags, OC_* environment variables, an optional
// YAML file, and the defaults each component registered.
//
// Every component has a Config struct with RegisterFlags(*flag.FlagSet) and
// Validate() error (house style). Flag names are dotted ("admin.addr"); the
// environment variable of a flag is "OC_" + its name upper-cased with "." and
// "-" turned into "_" (OC_ADMIN_ADDR). The file is a flat YAML map from flag
// name to value. Only main reads the environment; packages never call
// os.Getenv.
package config

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// FileFlag is the name of the flag that names the optional config file.
const FileFlag = "config.file"

// EnvName is the environment variable that sets flag name.
func EnvName(name string) string {
	r := strings.NewReplacer(".", "_", "-", "_")
	return "OC_" + strings.ToUpper(r.Replace(name))
}

// Load parses args into fs, then fills every flag not given on the command
// line from environ (KEY=VALUE pairs), then from the YAML file named by the
// config.file flag (or its environment variable). fs must already hold every
// component's flags, and a string flag FileFlag (Load registers it when
// missing). Unknown keys in the file are an error, so a typo is caught.
func Load(fs *flag.FlagSet, args []string, environ []string) error {
	if fs.Lookup(FileFlag) == nil {
		RegisterFileFlag(fs)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "OC_") {
			env[k] = v
		}
	}
	var errs []string
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		if v, ok := env[EnvName(f.Name)]; ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", EnvName(f.Name), err))
			}
			set[f.Name] = true
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("environment: %s", strings.Join(errs, "; "))
	}

	path := fs.Lookup(FileFlag).Value.String()
	if path == "" {
		return nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(raw, &values); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if fs.Lookup(k) == nil {
			return fmt.Errorf("config file %s: unknown setting %q", path, k)
		}
		if set[k] {
			continue
		}
		if err := fs.Set(k, fmt.Sprint(values[k])); err != nil {
			return fmt.Errorf("config file %s: %s: %w", path, k, err)
		}
	}
	return nil
}

// notSecret names the flags whose last word reads like a secret's but whose
// value is not one.
var notSecret = map[string]bool{
	"consul.config-key": true, // the name of a Consul KV key
}

// Secret reports whether a flag's value must not be printed: its name's
// last word is password, secret, token or key (smtp.password,
// consul.token, user.key-encryption-key), but not gateway.token-leeway
// or user.key-cache-ttl, which only mention one.
func Secret(name string) bool {
	n := strings.ToLower(name)
	if notSecret[n] {
		return false
	}
	if i := strings.LastIndexAny(n, ".-_"); i >= 0 {
		n = n[i+1:]
	}
	switch n {
	case "password", "secret", "token", "key":
		return true
	}
	return false
}

// Print writes every flag of fs as YAML (the form Load reads), with secrets
// masked, sorted by name.
func Print(w io.Writer, fs *flag.FlagSet) error {
	var b strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == FileFlag {
			return
		}
		v := f.Value.String()
		if Secret(f.Name) && v != "" {
			v = "********"
		}
		out, _ := yaml.Marshal(map[string]string{f.Name: v})
		b.Write(out)
	})
	_, err := io.WriteString(w, b.String())
	return err
}
