package natsx_test

import (
	"context"
	"flag"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/opencommerce/opencommerce/internal/natsx"
	"github.com/opencommerce/opencommerce/internal/natsx/natsxtest"
)

func TestScheme(t *testing.T) {
	prod, test := natsx.Scheme{}, natsx.Scheme{Prefix: "oct_1"}
	if prod.NotifyStream() != "NOTIFY" || prod.EventsStream() != "EVENTS" || test.NotifyStream() != "oct_1_NOTIFY" {
		t.Fatal("stream names")
	}
	for _, tc := range []struct {
		user, want string
		ok         bool
	}{
		{"0190c6b2-7f3a-7cde-8f00-000000000001", "notify.user.0190c6b2-7f3a-7cde-8f00-000000000001", true},
		{"", "", false},
		{"a.b", "", false},
		{"*", "", false},
		{">", "", false},
		{"a b", "", false},
	} {
		got, err := prod.UserSubject(tc.user)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("UserSubject(%q) = %q, %v", tc.user, got, err)
		}
	}
	if s, _ := test.UserSubject("u1"); s != "oct_1.notify.user.u1" {
		t.Errorf("prefixed user subject %q", s)
	}
	for _, tc := range []struct {
		typ, want string
		ok        bool
	}{
		{"product.updated", "events.product.updated", true},
		{"order.placed", "events.order.placed", true},
		{"", "", false},
		{"order..placed", "", false},
		{"order.*", "", false},
		{"order.>", "", false},
	} {
		got, err := prod.EventSubject(tc.typ)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("EventSubject(%q) = %q, %v", tc.typ, got, err)
		}
	}
}

func TestConfig(t *testing.T) {
	var c natsx.Config
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"-nats.prefix", "a_b"}); err != nil {
		t.Fatal(err)
	}
	if c.URL != "" || c.Streams.NotifyMaxPerUser != 1000 || c.Streams.NotifyMaxAge != 24*time.Hour {
		t.Fatalf("defaults: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []natsx.Config{
		{Prefix: "a.b", EmbedAddr: "127.0.0.1:0"},
		{Prefix: "a*", EmbedAddr: "127.0.0.1:0"},
		{EmbedAddr: "nope"},
		{EmbedAddr: "127.0.0.1:0", Streams: natsx.StreamConfig{NotifyMaxAge: -1}},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v validated", bad)
		}
	}
}

// With no URL, Connect embeds a server that also listens for other
// processes, and makes the streams.
func TestConnectEmbedded(t *testing.T) {
	cfg := natsx.DefaultConfig()
	cfg.EmbedAddr = "127.0.0.1:0"
	cfg.EmbedStoreDir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	nc, js, closeFn, err := natsx.Connect(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if err := natsx.Ready(nc)(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"NOTIFY", "EVENTS"} {
		if _, err := js.Stream(ctx, s); err != nil {
			t.Fatalf("stream %s: %v", s, err)
		}
	}
	// Another "process" connects over TCP.
	other, err := nats.Connect(nc.ConnectedUrl())
	if err != nil {
		t.Fatalf("connect over TCP to %s: %v", nc.ConnectedUrl(), err)
	}
	defer other.Close()
	if other.ConnectedUrl() == "" {
		t.Fatal("not connected")
	}
}

// With no URL, a NATS server already listening on the embed address is
// used (as `make run` beside the machine's nats-server) instead of failing
// to bind; closing the connection leaves that server running.
func TestConnectUsesServerAlreadyListening(t *testing.T) {
	running, err := natsx.StartEmbedded("127.0.0.1:0", t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer running.Shutdown()
	addr := running.Server.Addr().String()
	cfg := natsx.DefaultConfig()
	cfg.EmbedAddr = addr
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	nc, _, closeFn, err := natsx.Connect(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("Connect with a server on the embed address: %v", err)
	}
	other, err := nats.Connect(running.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	sub, err := other.SubscribeSync("probe")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("probe", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.NextMsg(5 * time.Second); err != nil {
		t.Fatalf("a message published through Connect's connection did not reach the running server: %v", err)
	}
	closeFn()
	if !running.Server.Running() {
		t.Fatal("closing the connection stopped a server it did not start")
	}
}

// Something other than NATS on the embed address is a clear error at once,
// not a 15-second wait for a server that cannot bind.
func TestConnectEmbedAddrTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			_ = c.Close()
		}
	}()
	cfg := natsx.DefaultConfig()
	cfg.EmbedAddr = ln.Addr().String()
	_, _, _, err = natsx.Connect(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "not a NATS server") {
		t.Fatalf("Connect = %v, want an error saying the address is taken by something else", err)
	}
}

// Publishing twice with one Nats-Msg-Id stores one message, and NOTIFY
// keeps at most NotifyMaxPerUser per user.
func TestStreamsDedupAndBound(t *testing.T) {
	t.Parallel()
	env := natsxtest.New(t)
	env.Config.Streams.NotifyMaxPerUser = 3
	_, js := env.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	subj, _ := env.Scheme.UserSubject("u1")
	if _, err := js.Publish(ctx, subj, []byte("a"), jetstream.WithMsgID("same")); err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(ctx, subj, []byte("a"), jetstream.WithMsgID("same"))
	if err != nil || !ack.Duplicate {
		t.Fatalf("second publish: %+v %v, want a duplicate", ack, err)
	}
	for i := range 5 {
		if _, err := js.Publish(ctx, subj, []byte{byte('b' + i)}); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := js.Stream(ctx, env.Scheme.NotifyStream())
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 3 {
		t.Fatalf("stream holds %d messages of one user, want 3", info.State.Msgs)
	}
}
