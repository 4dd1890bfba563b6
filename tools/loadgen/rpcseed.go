package loadgen

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
)

// ProductSeeder makes synthetic products through the product service's
// product.seed contract (Config.DirectSeed with SeedDirect): the product
// service writes them in bulk, and no tool opens its database. It is safe
// for concurrent use; Close releases its broker connection.
type ProductSeeder struct {
	// Stock, when positive, is the stock every seeded product gets (a run
	// that must never sell a product out); zero keeps the generated 0–199.
	Stock int64

	conn *bus.Conn
	rpc  *bus.Client
}

// DialProductSeeder connects to the broker the product service serves on
// (cfg.URL with its vhost).
func DialProductSeeder(ctx context.Context, cfg bus.Config) (*ProductSeeder, error) {
	if cfg.Name == "" {
		cfg.Name = "loadgen-seed"
	}
	conn, err := bus.Dial(ctx, cfg, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("seed: connect to the broker: %w", err)
	}
	rpc, err := bus.NewClient(conn, bus.ClientConfig{}, nil, nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("seed: %w", err)
	}
	return &ProductSeeder{conn: conn, rpc: rpc}, nil
}

// Seed asks the product service for n products (with s.Stock) and waits
// for them, up to a bulk insert's time (a minute per 200k products, at
// least five minutes).
func (s *ProductSeeder) Seed(ctx context.Context, n int) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute+time.Duration(n/200_000)*time.Minute)
	defer cancel()
	rep, err := bus.Invoke[contracts.SeedReply](ctx, s.rpc, "product", contracts.MethodProductSeed,
		contracts.SeedRequest{Count: n, Stock: s.Stock}, bus.CallOptions{Actor: contracts.Actor{Role: contracts.RoleService}})
	if err != nil {
		return fmt.Errorf("%s: %w", contracts.MethodProductSeed, err)
	}
	if rep.Created != n {
		return fmt.Errorf("%s made %d products, want %d", contracts.MethodProductSeed, rep.Created, n)
	}
	return nil
}

// Close closes the seeder's client and connection.
func (s *ProductSeeder) Close() error {
	return errors.Join(s.rpc.Close(), s.conn.Close())
}
