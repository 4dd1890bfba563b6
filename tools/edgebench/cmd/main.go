// Command edgebench runs the gateway benchmark (package edgebench) and
// prints Markdown tables: go run ./tools/edgebench/cmd -duration 6s -conns 16,64
//
// With wrk on the PATH (or -wrk), it also measures (a), (b), (c) and (d)
// served by a second edgebench process (-serve, GOMAXPROCS=1) under
// wrk -t1 at each connection count: one load tool for all four modes, (d)
// behind a bare fasthttp front (package edgebench, wrk.go).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/opencommerce/opencommerce/tools/edgebench"
)

func main() {
	amqpURL := flag.String("amqp", "amqp://guest:guest@127.0.0.1:5672/", "RabbitMQ URL")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "Redis address for the rate-limited mode (empty: skip)")
	conns := flag.String("conns", "64", "comma-separated connection counts")
	dur := flag.Duration("duration", 6*time.Second, "time per measurement")
	load := flag.Float64("latency-load", 0.5, "also measure (a) and (b) open loop at this fraction of (a)'s throughput (0: skip)")
	only := flag.String("only", "", "comma-separated mode letters to run (a,b,c,c+,d,e); empty: all")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	wrkDefault, _ := exec.LookPath("wrk")
	wrk := flag.String("wrk", wrkDefault, "wrk binary for the out-of-process table of (a)-(d)")
	serve := flag.Bool("serve", false, "serve (a)-(d), print a ready line, run until stdin closes (used by -wrk)")
	tables := flag.String("tables", "inproc,wrk", "which tables to measure: inproc (package edgebench's Run), wrk (needs -wrk), or both")
	flag.Parse()
	if *serve {
		serveUntilEOF(*amqpURL)
		return
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "cpuprofile:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	var modes []string
	if *only != "" {
		for s := range strings.SplitSeq(*only, ",") {
			modes = append(modes, strings.TrimSpace(s))
		}
	}
	var ns []int
	for s := range strings.SplitSeq(*conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Fprintln(os.Stderr, "bad -conns")
			os.Exit(2)
		}
		ns = append(ns, n)
	}
	want := map[string]bool{}
	for s := range strings.SplitSeq(*tables, ",") {
		switch s = strings.TrimSpace(s); s {
		case "inproc", "wrk":
			want[s] = true
		default:
			fmt.Fprintln(os.Stderr, "bad -tables: want inproc, wrk or both")
			os.Exit(2)
		}
	}
	if want["wrk"] && *wrk == "" {
		fmt.Fprintln(os.Stderr, "edgebench: the wrk table needs wrk (on the PATH or -wrk); scripts/deps.sh --test installs it, or pass -tables inproc")
		os.Exit(2)
	}
	if want["inproc"] {
		rep, err := edgebench.Run(context.Background(), edgebench.Options{AMQPURL: *amqpURL, RedisAddr: *redisAddr, Conns: ns, Duration: *dur, Only: modes, LatencyLoad: *load})
		if err != nil {
			fmt.Fprintln(os.Stderr, "edgebench:", err)
			pprof.StopCPUProfile()
			os.Exit(1)
		}
		fmt.Print(rep.Table() + "\n")
	}
	if want["wrk"] {
		res, err := wrkTable(*wrk, *amqpURL, ns, *dur)
		if err != nil {
			fmt.Fprintln(os.Stderr, "edgebench: wrk table:", err)
			os.Exit(1)
		}
		fmt.Print(edgebench.WrkTable(res))
	}
}

// serveUntilEOF is the -serve mode: the servers of the wrk table.
func serveUntilEOF(amqpURL string) {
	srv, err := edgebench.Serve(context.Background(), amqpURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "edgebench -serve:", err)
		os.Exit(1)
	}
	defer srv.Close()
	fmt.Println(srv.ReadyLine())
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// wrkTable starts this binary with -serve at GOMAXPROCS=1 and drives it
// with wrk.
func wrkTable(wrk, amqpURL string, conns []int, dur time.Duration) ([]edgebench.WrkResult, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve", "-amqp", amqpURL)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("server process: %w", err)
	}
	srv, err := edgebench.ParseReady(line)
	if err != nil {
		return nil, err
	}
	return edgebench.RunWrk(context.Background(), wrk, srv, conns, dur)
}
