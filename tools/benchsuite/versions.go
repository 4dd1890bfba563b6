package benchsuite

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"
)

// Versions asks each server its version: PostgreSQL (SHOW server_version),
// RabbitMQ (the connection's server properties), Redis (INFO
// redis_version), NATS (the INFO of the connection) and Go. A server that
// cannot be asked is reported as "unknown (reason)".
func Versions(ctx context.Context, s Servers, amqpURL string) map[string]string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v := map[string]string{"go": runtime.Version()}
	unknown := func(err error) string { return "unknown (" + err.Error() + ")" }

	if c, err := pgx.Connect(ctx, s.PGURL); err != nil {
		v["postgresql"] = unknown(err)
	} else {
		var ver string
		if err := c.QueryRow(ctx, "SHOW server_version").Scan(&ver); err != nil {
			v["postgresql"] = unknown(err)
		} else {
			v["postgresql"] = ver
		}
		_ = c.Close(ctx)
	}

	if conn, err := amqp.DialConfig(amqpURL, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)}); err != nil {
		v["rabbitmq"] = unknown(err)
	} else {
		v["rabbitmq"] = fmt.Sprint(conn.Properties["version"])
		_ = conn.Close()
	}

	if opt, err := redis.ParseURL(s.RedisURL); err != nil {
		v["redis"] = unknown(err)
	} else {
		rdb := redis.NewClient(opt)
		info, err := rdb.Info(ctx, "server").Result()
		if err != nil {
			v["redis"] = unknown(err)
		} else {
			v["redis"] = "unknown"
			for line := range strings.SplitSeq(info, "\n") {
				if val, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
					v["redis"] = val
				}
			}
		}
		_ = rdb.Close()
	}

	if s.NATSURL == "" {
		v["nats"] = "embedded"
	} else if nc, err := nats.Connect(s.NATSURL, nats.Timeout(5*time.Second)); err != nil {
		v["nats"] = unknown(err)
	} else {
		v["nats"] = nc.ConnectedServerVersion()
		nc.Close()
	}
	return v
}
