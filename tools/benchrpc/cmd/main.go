// Command benchrpc prints the RPC layer's figures against bare amqp091-go:
//
//	go run ./tools/benchrpc/cmd -dur=5s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/opencommerce/opencommerce/tools/benchrpc"
)

func main() {
	url := flag.String("amqp.url", "amqp://guest:guest@127.0.0.1:5672/", "broker URL (a scratch vhost is best)")
	dur := flag.Duration("dur", 5*time.Second, "measurement time per mode and concurrency")
	inflight := flag.String("inflight", "1,16,64,256", "calls in flight to measure")
	flag.Parse()
	var ns []int
	for _, s := range strings.Split(*inflight, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bad -inflight %q\n", s)
			os.Exit(2)
		}
		ns = append(ns, n)
	}
	res, err := benchrpc.Run(context.Background(), *url, ns, *dur)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchrpc:", err)
		os.Exit(1)
	}
	fmt.Print(benchrpc.Table(res))
}
