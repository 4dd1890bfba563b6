package pg

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/contracts"
)

// DefaultAcquireTimeout is how long a query waits for a pooled connection
// by default: well under the gateway's 5 s route timeout, so a saturated
// pool or a hung server is answered 503 unavailable rather than 504.
const DefaultAcquireTimeout = time.Second

// Unavailable classifies err, a service's error that is not a
// *contracts.Error, for the wire: when the database (or another server
// reached over the network, such as Redis) could not be reached or stopped
// answering it returns an unavailable *contracts.Error (503
// with Retry-After at the gateway; the caller may retry), else nil (the
// error stays internal). The errors it recognises:
//   - a connection that could not be made (refused, reset, timed out,
//     closed during the startup) and a connection that broke mid-query
//     (EOF, reset, closed by the driver);
//   - the server refusing work for now: class 08 (connection exception),
//     53300 too_many_connections, 57P01–57P03 (shutting down, starting);
//   - a deadline shorter than the request's that expired: the pool's
//     acquire timeout (Config.AcquireTimeout) is one, and the request's own
//     deadline is handled before (deadline_exceeded) by the RPC server.
//
// It is the bus.ServerConfig.Classify of every service's RPC server (see
// internal/svc.Kit), so every route answers a database outage alike.
func Unavailable(err error) *contracts.Error {
	if err == nil || !dependencyDown(err) {
		return nil
	}
	return contracts.Errorf(contracts.CodeUnavailable, "a dependency of the service is unavailable; retry later")
}

func dependencyDown(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false // the caller went away (or shutdown): not an outage
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch code := pgErr.Code; {
		case len(code) == 5 && code[:2] == "08", code == "53300", code == "57P01", code == "57P02", code == "57P03":
			return true
		}
		return false // any other answer from the server is not an outage
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) ||
		errors.Is(err, context.DeadlineExceeded) ||
		pgconn.Timeout(err) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) ||
		errors.As(err, &netErr)
}

// acquireTimeout bounds pool acquisition: pgxpool has no setting for it,
// but its AcquireTracer may replace the context Acquire waits with (the
// connection, once acquired, runs under the caller's context alone). The
// acquire includes pgxpool's liveness ping of a connection idle for over a
// second, so a connection to a server that hung is given up in time too.
// pgxpool finds the AcquireTracer on ConnConfig.Tracer, a pgx.QueryTracer,
// hence the no-op query methods.
type acquireTimeout struct{ d time.Duration }

// TraceQueryStart implements pgx.QueryTracer (nothing traced).
func (acquireTimeout) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer (nothing traced).
func (acquireTimeout) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

type acquireCancelKey struct{}

// TraceAcquireStart implements pgxpool.AcquireTracer.
func (a acquireTimeout) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	ctx, cancel := context.WithTimeout(ctx, a.d)
	return context.WithValue(ctx, acquireCancelKey{}, cancel)
}

// TraceAcquireEnd implements pgxpool.AcquireTracer.
func (acquireTimeout) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireEndData) {
	if cancel, ok := ctx.Value(acquireCancelKey{}).(context.CancelFunc); ok {
		cancel()
	}
}
