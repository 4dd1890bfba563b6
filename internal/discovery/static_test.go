package discovery_test

import (
	"context"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/opencommerce/opencommerce/internal/discovery"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

func amqpChannel(t *testing.T, url string) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		testenv.Unavailable(t, "RabbitMQ", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestStaticModeFollowsConsumers(t *testing.T) {
	t.Parallel()
	url := testenv.AMQP(t)
	ch := amqpChannel(t, url)
	insp := discovery.NewAMQPInspector(url)
	t.Cleanup(func() { _ = insp.Close() })
	changes := newChanges()
	w := discovery.NewStaticWatcher(insp, []string{"product", discovery.FileService}, discovery.WatchOptions{
		StaticPollInterval: 50 * time.Millisecond,
		FileDataURL:        "http://127.0.0.1:18090",
		OnChange:           changes.hook,
	})
	runWatcher(t, w.Run)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.WaitSynced(ctx); err != nil {
		t.Fatalf("static watcher never synced: %v", err)
	}
	// No queue yet (a 404 on the passive declare closes the channel): not
	// healthy, and the inspector must recover for the next checks.
	if w.HasHealthy("product") {
		t.Fatal("product healthy without its queue")
	}

	if _, err := ch.QueueDeclare("rpc.product", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Consume("rpc.product", "c1", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	changes.waitFor(t, 10*time.Second, "product healthy once it consumes", func() bool { return w.HasHealthy("product") })
	in, _ := w.Pick("product")
	if in.Meta[discovery.MetaRPCQueue] != "rpc.product" || in.DataURL != "" {
		t.Errorf("static product instance %+v", in)
	}

	if err := ch.Cancel("c1", false); err != nil {
		t.Fatal(err)
	}
	changes.waitFor(t, 10*time.Second, "product unhealthy after its consumer left", func() bool { return !w.HasHealthy("product") })

	if _, err := ch.QueueDeclare("rpc.file", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Consume("rpc.file", "f1", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	changes.waitFor(t, 10*time.Second, "file healthy", func() bool { return w.HasHealthy(discovery.FileService) })
	if f, _ := w.Pick(discovery.FileService); f.DataURL != "http://127.0.0.1:18090" {
		t.Errorf("file DataURL = %q, want the configured http://127.0.0.1:18090", f.DataURL)
	}
}

// The inspector redials after the broker drops its connection; meanwhile
// the last answer stands.
func TestAMQPInspectorReconnects(t *testing.T) {
	t.Parallel()
	url := testenv.AMQP(t)
	insp := discovery.NewAMQPInspector(url)
	t.Cleanup(func() { _ = insp.Close() })
	ctx := context.Background()
	if n, err := insp.Consumers(ctx, "rpc.none"); n != 0 || err != nil {
		t.Fatalf("missing queue: %d, %v; want 0, nil", n, err)
	}
	testenv.CloseAMQPConnections(t, testenv.VHost(url))

	ch := amqpChannel(t, url)
	if _, err := ch.QueueDeclare("rpc.x", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := insp.Consumers(ctx, "rpc.x"); err != nil || n != 0 {
		// Right after the close the inspector may still fail once.
		if n, err = insp.Consumers(ctx, "rpc.x"); err != nil || n != 0 {
			t.Fatalf("queue without consumers: %d, %v; want 0, nil", n, err)
		}
	}
	if _, err := ch.Consume("rpc.x", "", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		n, err := insp.Consumers(ctx, "rpc.x")
		if err == nil && n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the connection was closed: %d consumers, %v; want 1", n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
