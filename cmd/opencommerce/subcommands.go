package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"

	"github.com/opencommerce/opencommerce/contracts/schemagen"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/config"
	"github.com/opencommerce/opencommerce/platform"
)

type subcommand struct {
	help string
	run  func(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error
}

var subcommands = map[string]subcommand{}

func init() {
	subcommands["gen-schemas"] = subcommand{"write (or -check) the JSON Schema files of the contracts", genSchemas}
	subcommands["replay-dlq"] = subcommand{"move a service's dead-lettered events back to its queue", replayDLQ}
	subcommands["user"] = subcommand{platform.UserAdminHelp, platform.UserAdmin}
	subcommands["help"] = subcommand{"list the commands", func(_ context.Context, _, _ []string, stdout, _ io.Writer) error {
		for _, n := range subcommandNames() {
			fmt.Fprintf(stdout, "%-14s %s\n", n, subcommands[n].help)
		}
		return nil
	}}
}

func subcommandNames() []string {
	var out []string
	for n := range subcommands {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func genSchemas(_ context.Context, args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen-schemas", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "contracts/schema", "directory of the schema files")
	check := fs.Bool("check", false, "only check that the files are current")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *check {
		if err := schemagen.Check(*out); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "contracts/schema is current")
		return nil
	}
	return schemagen.Write(*out)
}

func replayDLQ(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("replay-dlq", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var amqpCfg bus.Config
	amqpCfg.RegisterFlags(fs)
	service := fs.String("service", "", "the service whose dead letters to replay (events.<service>.dlq)")
	max := fs.Int("max", 1000, "replay at most this many messages")
	if err := config.Load(fs, args, environ); err != nil {
		return err
	}
	if *service == "" {
		return fmt.Errorf("-service is required")
	}
	conn, err := bus.Dial(ctx, amqpCfg, platform.NewLogger(platform.LogConfig{Level: "warn", Format: "text"}, stderr), nil)
	if err != nil {
		return err
	}
	defer conn.Close()
	n, err := bus.ReplayDeadLetters(ctx, conn, *service, *max)
	fmt.Fprintf(stdout, "replayed %d dead-lettered events of %s\n", n, *service)
	return err
}
