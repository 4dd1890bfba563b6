// Command edgebench runs the gateway benchmark (package edgebench) and
// prints Markdown tables: go run ./edge/edgebench/cmd -duration 6s -conns 16,64
//
// With wrk on the PATH (or -wrk), it also measures (a) and (b) served by a
// second edgebench process (-serve, GOMAXPROCS=1) under wrk -t1, at the
// largest connection count.
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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opencommerce/opencommerce/edge/edgebench"
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
	wrk := flag.String("wrk", wrkDefault, "wrk binary for the out-of-process table of (a) and (b) (empty: skip)")
	serve := flag.Bool("serve", false, "serve (a) and (b), print \"ready <bare> <cached>\", run until stdin closes (used by -wrk)")
	flag.Parse()
	if *serve {
		serveUntilEOF()
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
	rep, err := edgebench.Run(context.Background(), edgebench.Options{AMQPURL: *amqpURL, RedisAddr: *redisAddr, Conns: ns, Duration: *dur, Only: modes, LatencyLoad: *load})
	if err != nil {
		fmt.Fprintln(os.Stderr, "edgebench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
	fmt.Print(rep.Table())
	if *wrk != "" && (len(modes) == 0 || slices.Contains(modes, "a") || slices.Contains(modes, "b")) {
		res, err := wrkTable(*wrk, slices.Max(ns), *dur)
		if err != nil {
			fmt.Fprintln(os.Stderr, "edgebench: wrk table:", err)
			os.Exit(1)
		}
		fmt.Print("\n" + edgebench.WrkTable(res))
	}
}

// serveUntilEOF is the -serve mode: the servers of the wrk table.
func serveUntilEOF() {
	srv, err := edgebench.Serve(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "edgebench -serve:", err)
		os.Exit(1)
	}
	defer srv.Close()
	fmt.Printf("ready %s %s\n", srv.Bare, srv.Cached)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// wrkTable starts this binary with -serve at GOMAXPROCS=1 and drives it
// with wrk.
func wrkTable(wrk string, conns int, dur time.Duration) ([]edgebench.WrkResult, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve")
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
	var srv edgebench.Servers
	if _, serr := fmt.Sscanf(line, "ready %s %s", &srv.Bare, &srv.Cached); err != nil || serr != nil {
		return nil, fmt.Errorf("server process: %q %v %v", line, err, serr)
	}
	return edgebench.RunWrk(context.Background(), wrk, &srv, conns, dur)
}
