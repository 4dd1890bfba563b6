package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/opencommerce/opencommerce/internal/config"
	"github.com/opencommerce/opencommerce/tools/benchsuite"
)

func init() {
	subcommands["bench"] = subcommand{"baselines and the platform's figures in one run, as ratios (make bench; see BENCHMARKS.md)", benchCmd}
	subcommands["bench-serve"] = subcommand{"(used by bench) serve the bare fasthttp baseline on -addr", benchServe}
}

func benchServe(ctx context.Context, args, _ []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench-serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); _ = ln.Close() }()
	if err := benchsuite.ServeBareHTTP(ln); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

func benchCmd(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opt benchsuite.Options
	opt.Servers.RegisterFlags(fs)
	fs.DurationVar(&opt.Duration, "duration", 6*time.Second, "measuring time of each figure (split into interleaved rounds)")
	fs.IntVar(&opt.InFlight, "inflight", 64, "requests in flight of each figure but checkout")
	fs.IntVar(&opt.CheckoutInFlight, "checkout-inflight", 16, "checkouts in flight")
	fs.IntVar(&opt.Products, "products", 2000, "catalogue size seeded for the platform figures")
	fs.StringVar(&opt.Seed, "seed", "", "how the catalogue is seeded: api (through the gateway), direct (the product.seed RPC: the product service writes the rows itself), or empty: api up to 10000 products, direct above")
	fs.BoolVar(&opt.Edge, "edge", true, "also run the gateway component figures (tools/edgebench)")
	fs.BoolVar(&opt.RPC, "rpc", true, "also run the RPC layer figures (bus vs bare amqp091-go echo at 1, 16, 64, 256 in flight)")
	inProcess := fs.Bool("in-process", false, "run the platform in this process instead of as a subprocess of this binary")
	out := fs.String("out", "", "write the results as JSON to this file")
	logPath := fs.String("platform-log", "", "write the platform's log to this file")
	if err := config.Load(fs, args, environ); err != nil {
		return err
	}
	if !*inProcess {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find this binary to start the platform: %w", err)
		}
		opt.Binary = exe
	}
	opt.Progress = stderr
	if *logPath != "" {
		f, err := os.Create(*logPath)
		if err != nil {
			return err
		}
		defer f.Close()
		opt.PlatformLog = f
	}
	res, err := benchsuite.Run(ctx, opt)
	if err != nil {
		return err
	}
	res.Command = "opencommerce bench " + strings.Join(args, " ")
	res.Format(stdout)
	if *out != "" {
		if err := res.WriteJSON(*out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nresults written to %s\n", *out)
	}
	return nil
}
