package pg

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// MaxTxAttempts is how many times InTx runs a transaction that keeps failing
// with a serialization failure or a deadlock before it gives up.
const MaxTxAttempts = 5

// InTx runs fn in a read-committed transaction and commits it when fn
// returns nil; an error from fn (or a panic) rolls back and is returned
// unchanged.
//
// Retries: when the transaction fails with serialization_failure (40001) or
// deadlock_detected (40P01), in fn or at commit, the whole transaction is
// rolled back and fn runs again in a new one, up to MaxTxAttempts times with
// a short jittered backoff (a few milliseconds, growing). fn must therefore
// have no effects outside tx that are unsafe to repeat, and must not keep
// tx after it returns. Other errors are never retried.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(tx pgx.Tx) error) error {
	return InTxWith(ctx, pool, pgx.TxOptions{}, fn)
}

// InTxWith is InTx with transaction options, e.g. IsoLevel: pgx.Serializable,
// where retries on serialization failures are part of the contract.
func InTxWith(ctx context.Context, pool *pgxpool.Pool, opts pgx.TxOptions, fn func(tx pgx.Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = pgx.BeginTxFunc(ctx, pool, opts, fn)
		if err == nil || !Retryable(err) || attempt >= MaxTxAttempts {
			return err
		}
		// 1-2 ms, 2-4 ms, 4-8 ms, 8-16 ms: enough for the other
		// transaction to finish, short enough to stay invisible to callers.
		d := time.Duration(1<<(attempt-1)) * time.Millisecond
		d += rand.N(d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// Retryable reports whether err is a serialization failure (40001) or a
// deadlock (40P01): the transaction can succeed if run again.
func Retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	return false
}

// IsUniqueViolation reports whether err is a unique_violation (23505),
// optionally on the named constraint ("" matches any).
func IsUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && (constraint == "" || pgErr.ConstraintName == constraint)
}
