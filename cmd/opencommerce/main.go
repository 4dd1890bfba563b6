// Command opencommerce is the one binary of the platform. -target picks the
// modules to run (all by default); subcommands cover operations:
// gen-schemas, replay-dlq, user rotate-key/create-admin, loadgen and bench.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/opencommerce/opencommerce/internal/config"
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

	fs := flag.NewFlagSet("opencommerce", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	cfg.RegisterFlags(fs)
	listTargets := fs.Bool("list-targets", false, "print the module names and exit")
	printConfig := fs.Bool("print-config", false, "print the effective configuration as YAML and exit")
	verifyConfig := fs.Bool("verify-config", false, "validate the configuration and exit (0 valid, 1 invalid)")
	if err := config.Load(fs, args, environ); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "config:", err)
		return 2
	}
	log := newLogger(cfg.Log, stderr)

	if *listTargets {
		for _, t := range targetNames() {
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
	if *verifyConfig {
		fmt.Fprintln(stdout, "configuration is valid")
		return 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := newPlatform(cfg, log)
	if err := p.manager.Run(ctx, cfg.Targets()); err != nil {
		log.Error("exit", "err", err)
		return 1
	}
	return 0
}

// LogConfig configures the process logger.
type LogConfig struct {
	Level  string
	Format string
}

// RegisterFlags registers log.level and log.format.
func (c *LogConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Level, "log.level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.Format, "log.format", "text", "log format: text or json")
}

// Validate checks the log settings.
func (c LogConfig) Validate() error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.Level)); err != nil {
		return fmt.Errorf("log.level %q: want debug, info, warn or error", c.Level)
	}
	if c.Format != "text" && c.Format != "json" {
		return fmt.Errorf("log.format %q: want text or json", c.Format)
	}
	return nil
}

func newLogger(c LogConfig, w io.Writer) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: l}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
