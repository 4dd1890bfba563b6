package testenv_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/opencommerce/opencommerce/internal/testenv"
)

func TestIsolatedResources(t *testing.T) {
	t.Parallel()
	u1, u2 := testenv.PG(t), testenv.PG(t)
	if u1 == u2 {
		t.Fatal("two PG calls returned the same database")
	}
	c, err := pgx.Connect(context.Background(), u1)
	if err != nil {
		t.Fatalf("connect fresh database: %v", err)
	}
	c.Close(context.Background())

	a := testenv.AMQP(t)
	conn, err := amqp.Dial(a)
	if err != nil {
		t.Fatalf("dial fresh vhost: %v", err)
	}
	defer conn.Close()
	if n := testenv.CloseAMQPConnections(t, testenv.VHost(a)); n < 1 {
		t.Fatalf("closed %d connections, want ≥1", n)
	}
}

func TestPoll(t *testing.T) {
	n := 0
	if !testenv.Poll(time.Minute, func() bool { n++; return n == 3 }) {
		t.Fatal("a condition that holds on the third try was not seen")
	}
	if testenv.Poll(20*time.Millisecond, func() bool { return false }) {
		t.Fatal("a condition that never holds was reported as held")
	}
}
