// Command opencommerce is the one binary of the platform. -target picks the
// modules to run (all by default); subcommands cover operations:
// gen-schemas, openapi, gen-api-docs, gen-config-docs, gen-nomad, replay-dlq, user
// rotate-key/create-admin (platform.UserAdmin), loadgen and bench.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/opencommerce/opencommerce/internal/config"
	"github.com/opencommerce/opencommerce/platform"
)

func main() {
	os.Exit(run(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// run is main without the process exit, so tests drive it.
func run(args, environ []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, ok := subcommands[args[0]]
		if !ok {
			fmt.Fprintf(stderr, "unknown command %q (commands: %s)\n", args[0], strings.Join(subcommandNames(), ", "))
			return 2
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := cmd.run(ctx, args[1:], environ, stdout, stderr); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			fmt.Fprintf(stderr, "%s: %v\n", args[0], err)
			return 1
		}
		return 0
	}

	fs, cfg, listTargets, printConfig, verifyConfig := platformFlags(stderr)
	if err := config.Load(fs, args, environ); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "config:", err)
		return 2
	}
	log := platform.NewLogger(cfg.Log, stderr)

	if *listTargets {
		for _, t := range platform.TargetNames() {
			fmt.Fprintln(stdout, t)
		}
		return 0
	}
	if *printConfig {
		if err := config.Print(stdout, fs); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "invalid configuration:", err)
		return 1
	}
	if cfg.DepsExplicit {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if err := platform.CheckExplicitServers(cfg.Targets(), set); err != nil {
			fmt.Fprintln(stderr, "invalid configuration:", err)
			return 1
		}
	}
	if *verifyConfig {
		fmt.Fprintln(stdout, "configuration is valid")
		return 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := platform.New(*cfg, log).Run(ctx); err != nil {
		log.Error("exit", "err", err)
		return 1
	}
	return 0
}

// platformFlags is the binary's own FlagSet: the platform's configuration,
// the flags of main and the config file flag. -print-config prints it and
// gen-config-docs documents it.
func platformFlags(stderr io.Writer) (fs *flag.FlagSet, cfg *platform.Config, listTargets, printConfig, verifyConfig *bool) {
	fs = flag.NewFlagSet("opencommerce", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg = new(platform.Config)
	cfg.RegisterFlags(fs)
	listTargets = fs.Bool("list-targets", false, "print the module names and exit")
	printConfig = fs.Bool("print-config", false, "print the effective configuration as YAML and exit")
	verifyConfig = fs.Bool("verify-config", false, "validate the configuration and exit (0 valid, 1 invalid)")
	config.RegisterFileFlag(fs)
	return fs, cfg, listTargets, printConfig, verifyConfig
}
