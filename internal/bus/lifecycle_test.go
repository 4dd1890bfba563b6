package bus_test

import (
	"context"
	"flag"
	"io"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/bus/bustest"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

func TestShutdownFinishesInFlight(t *testing.T) {
	t.Parallel()
	url := testenv.AMQP(t)
	started := make(chan struct{}, 1)
	srv := bus.NewServer(bustest.Dial(t, url), bus.ServerConfig{Service: "slow"}, nil, nil)
	srv.Handle("slow.work", func(ctx context.Context, req *bus.Request) (any, error) {
		started <- struct{}{}
		time.Sleep(300 * time.Millisecond)
		return "done", nil
	})
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	cl := bustest.Client(t, bustest.Dial(t, url), bus.ClientConfig{})
	res := make(chan error, 1)
	go func() {
		got, err := bus.Invoke[string](context.Background(), cl, "slow", "slow.work", nil, bus.CallOptions{})
		if err == nil && got != "done" {
			err = contracts.Errorf(contracts.CodeInternal, "got %q", got)
		}
		res <- err
	}()
	<-started
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-res; err != nil {
		t.Fatalf("call in flight at shutdown: %v", err)
	}
	// Nobody consumes now, but the queue is still bound: the call waits
	// for its deadline rather than being returned.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := cl.Call(ctx, "slow", "slow.work", nil, bus.CallOptions{}); contracts.ErrorCode(err) != contracts.CodeDeadlineExceeded {
		t.Fatalf("call after shutdown: %v", err)
	}
}

func TestConfigFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr bool
	}{
		{nil, false},
		{[]string{"-amqp.url=amqp://u:p@broker:5672/vh", "-amqp.reply-path=direct", "-amqp.max-in-flight=10"}, false},
		{[]string{"-amqp.url=http://x"}, true},
		{[]string{"-amqp.url="}, true},
		{[]string{"-amqp.rpc-timeout=-1s"}, true},
		{[]string{"-amqp.rpc-channels=100"}, true},
	} {
		var cfg bus.Config
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		cfg.RegisterFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("%v: parse: %v", tc.args, err)
		}
		if err := cfg.Validate(); (err != nil) != tc.wantErr {
			t.Errorf("%v: Validate() = %v, want error %v", tc.args, err, tc.wantErr)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var cfg bus.Config
	cfg.RegisterFlags(fs)
	if err := fs.Parse([]string{"-amqp.reply-path=carrier-pigeon"}); err == nil {
		t.Error("bad reply path accepted")
	}
	var sc bus.ServerConfig
	fs = flag.NewFlagSet("s", flag.ContinueOnError)
	sc.RegisterFlags(fs)
	_ = fs.Parse([]string{"-amqp.prefetch=10", "-amqp.workers=4"})
	if sc.Prefetch != 10 || sc.Workers != 4 || sc.Validate() == nil {
		t.Errorf("server config %+v: want prefetch 10, workers 4 and an error for the missing service", sc)
	}
}
