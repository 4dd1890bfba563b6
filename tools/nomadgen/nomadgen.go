// Package nomadgen renders the Nomad job of every module of the binary
// (nomad/<name>.nomad.hcl) from one template, job.nomad.hcl.tmpl: the six
// jobs share their update, restart, reschedule, check and template blocks,
// and differ only in what Jobs lists (ports, the file service's volume and
// data service, the gateway's HTTP service). The servers each job's
// Consul template renders come from the binary's module graph
// (platform.Servers), so they cannot drift from what the module uses.
// `opencommerce gen-nomad` writes the files (make docs); TestJobsAreCurrent
// fails while a committed file differs from what the template makes.
package nomadgen

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"text/template"

	"github.com/opencommerce/opencommerce/platform"
)

//go:embed job.nomad.hcl.tmpl
var jobTemplate string

var tmpl = template.Must(template.New("job").Delims("[[", "]]").Parse(jobTemplate))

// Job is what sets one module's job apart.
type Job struct {
	Name    string // the module (-target), the job, group, task and Consul service
	Title   string // "the user service", "the edge gateway"
	Summary string // what the module does, for the file's first line
	Count   int    // default instances
	Memory  int    // default MiB per instance
	Gateway bool   // the public HTTP port and its service
	File    bool   // the data port, its service and the blob volume
	servers []string
}

// ExtraPorts are the job's ports beside admin.
func (j Job) ExtraPorts() []string {
	switch {
	case j.Gateway:
		return []string{"http"}
	case j.File:
		return []string{"data"}
	}
	return nil
}

// Uses reports whether the module talks to the server (a Consul service
// name, platform.Server*).
func (j Job) Uses(server string) bool { return slices.Contains(j.servers, server) }

// Jobs are the module jobs, in file name order.
var Jobs = []Job{
	{Name: "file", Title: "file service", Summary: "blob storage (content-addressed, on a host volume), thumbnails", Count: 1, Memory: 512, File: true},
	{Name: "gateway", Title: "edge gateway", Summary: "HTTP API, auth, rate limits, cache, SSE/WebSocket bridge", Count: 2, Memory: 512, Gateway: true},
	{Name: "notification", Title: "notification service", Summary: "in-app, push (NATS) and email notifications", Count: 2, Memory: 256},
	{Name: "order", Title: "order service", Summary: "carts, checkout saga, payments, shipments", Count: 2, Memory: 256},
	{Name: "product", Title: "product service", Summary: "catalogue, inventory, reviews, comments", Count: 2, Memory: 256},
	{Name: "user", Title: "user service", Summary: "accounts, credentials, tokens, addresses, wishlists", Count: 2, Memory: 256},
}

// Render returns the job file of j.
func Render(j Job) ([]byte, error) {
	servers, err := platform.Servers([]string{j.Name})
	if err != nil {
		return nil, fmt.Errorf("nomad job %s: %w", j.Name, err)
	}
	j.servers = servers
	var b bytes.Buffer
	if err := tmpl.Execute(&b, j); err != nil {
		return nil, fmt.Errorf("nomad job %s: %w", j.Name, err)
	}
	return b.Bytes(), nil
}

// FileName is the job file of the module name.
func FileName(name string) string { return name + ".nomad.hcl" }

// Write renders every job into dir.
func Write(dir string) error {
	for _, j := range Jobs {
		b, err := Render(j)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, FileName(j.Name)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Check returns an error naming every job file in dir that differs from
// what the template makes (run `opencommerce gen-nomad` to rewrite them).
func Check(dir string) error {
	var stale []string
	for _, j := range Jobs {
		want, err := Render(j)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(dir, FileName(j.Name)))
		if err != nil || !bytes.Equal(got, want) {
			stale = append(stale, FileName(j.Name))
		}
	}
	if len(stale) > 0 {
		return fmt.Errorf("%s: %v differ from the template (tools/nomadgen/job.nomad.hcl.tmpl); run opencommerce gen-nomad (make docs)", dir, stale)
	}
	return nil
}
