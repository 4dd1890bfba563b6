package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/opencommerce/opencommerce/internal/config"
	"github.com/opencommerce/opencommerce/tools/demo"
)

func init() {
	subcommands["demo"] = subcommand{"seed a demo shop (categories, sellers, products, a customer's orders and reviews) through the gateway; -remove deletes it", demoCmd}
}

func demoCmd(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("gateway.addr", ":8080", "host:port of the gateway (empty host: 127.0.0.1)")
	var cfg demo.Config
	fs.StringVar(&cfg.AdminEmail, "user.bootstrap-admin-email", "", "email of an admin account (makes the categories, finds and disables accounts)")
	fs.StringVar(&cfg.AdminPassword, "user.bootstrap-admin-password", "", "password of that admin account")
	fs.DurationVar(&cfg.Timeout, "timeout", 20*time.Second, "timeout of one request")
	remove := fs.Bool("remove", false, "delete the demo data instead (products, files, categories; the accounts are disabled)")
	if err := config.Load(fs, args, environ); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("-gateway.addr %q: %w", *addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	cfg.Gateway = "http://" + net.JoinHostPort(host, port)
	cfg.Progress = stdout
	if *remove {
		rm, err := demo.Remove(ctx, cfg)
		if rm != nil {
			printRemoved(stdout, rm)
		}
		return err
	}
	res, err := demo.Seed(ctx, cfg)
	if err != nil {
		return err
	}
	if !res.Existing {
		fmt.Fprintf(stdout, "seeded %d categories, %d products and %d orders (one per state)\n", res.Categories, res.Products, len(res.Orders))
	}
	res.PrintAccounts(stdout)
	return nil
}

func printRemoved(w io.Writer, rm *demo.Removed) {
	if !rm.Found {
		fmt.Fprintln(w, "no demo data found: nothing changed")
		return
	}
	if rm.Cancelled > 0 {
		fmt.Fprintf(w, "cancelled the demo customer's %d unpaid orders (their reservations held the products)\n", rm.Cancelled)
	}
	fmt.Fprintf(w, "deleted %d products, %d files and %d categories\n", rm.Products, rm.Files, rm.Categories)
	if len(rm.Disabled) > 0 {
		fmt.Fprintf(w, "disabled the accounts %v (the API cannot delete accounts; a later `opencommerce demo` enables them again)\n", rm.Disabled)
	}
	fmt.Fprintln(w, "the demo customer's orders stay in the order history (orders are never deleted)")
}
