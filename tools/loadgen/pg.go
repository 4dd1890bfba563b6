package loadgen

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// PGChargeCounter counts successful charges in the order service's own
// payments table (one row per charge or refund attempt). It is for
// operators and tests that own the platform's databases, while the order
// API does not list payment attempts: a service never reads another's
// database, but a verification tool may.
func PGChargeCounter(orderDB *pgxpool.Pool) ChargeCounter {
	return func(ctx context.Context, ids []string) (map[string]int, error) {
		out := make(map[string]int, len(ids))
		for _, id := range ids {
			out[id] = 0
		}
		for len(ids) > 0 {
			batch := ids[:min(len(ids), 1000)]
			ids = ids[len(batch):]
			rows, err := orderDB.Query(ctx, `SELECT order_id::text, count(*) FROM payments
				WHERE order_id = ANY($1::uuid[]) AND kind = 'charge' AND status = 'succeeded' GROUP BY order_id`, batch)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var id string
				var n int
				if err := rows.Scan(&id, &n); err != nil {
					rows.Close()
					return nil, err
				}
				out[id] = n
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
}
