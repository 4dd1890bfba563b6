package benchsuite

import (
	"testing"

	"github.com/opencommerce/opencommerce/internal/testenv"
)

// LocalTestServers are the test servers (internal/testenv), as the bench's
// Servers, for this package's tests of both kinds; it skips (or fails
// under CI) when one is away.
func LocalTestServers(tb testing.TB) Servers {
	tb.Helper()
	s := DefaultServers()
	s.PGURL, s.AMQPURL, s.AMQPAdmin = testenv.PGURL, testenv.AMQPURL, testenv.AMQPAdmin
	s.RedisURL = "redis://" + testenv.RedisAddr + "/0"
	s.NATSURL = testenv.NATSURL
	_ = testenv.PG(tb) // skips, or fails under CI, when PostgreSQL is away
	_, _ = testenv.Redis(tb)
	_, _ = testenv.NATS(tb)
	return s
}
