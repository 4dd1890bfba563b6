// Command edgebench runs the gateway benchmark (package edgebench) and
// prints a Markdown table: go run ./edge/edgebench/cmd -duration 6s -conns 16,64
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
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
	flag.Parse()
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
}
