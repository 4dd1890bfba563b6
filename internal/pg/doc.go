// Package pg is the PostgreSQL runtime shared by every service: it opens a
// service's own database (creating it when missing), applies embedded SQL
// migrations once under an advisory lock, runs transactions with bounded
// retries, and implements the transactional outbox (AddEvent + Relay) and
// the idempotent inbox (HandleOnce).
//
// # Databases
//
// Config.URL names a server, not a database: each service passes its own
// database name to Open ("oc_order"), and Open creates it on first start.
// The database in the URL (default "postgres") is only the maintenance
// database used to create the others.
//
// # Outages
//
// A pool waits at most Config.AcquireTimeout (pg.acquire-timeout, 1 s) for
// a connection — a free one, a new one, or the liveness ping pgxpool gives
// one idle for over a second — so a saturated pool or a hung server fails
// the query well before the request's deadline. Unavailable classifies
// such failures, and a server that cannot be reached or broke the
// connection, as contracts' unavailable: every service's RPC server uses
// it (svc.Kit sets bus.ServerConfig.Classify), so the gateway answers 503
// with Retry-After on every route instead of 500 or 504.
//
// # Migrations
//
// Migrate applies pg's own migrations (component "pg": the tables oc_outbox
// and oc_inbox) and then the service's files NNNN_name.sql (component
// "service"), each file in its own transaction, recorded in
// oc_schema_migrations(component, version, name, checksum, applied_at). A
// session advisory lock serialises concurrent instances. A recorded
// migration whose file content changed is refused (ErrMigrationChanged):
// migrations are append-only. A recorded version that has no file (an older
// binary started after a newer one migrated, as in a rolling deploy) is
// logged and tolerated.
//
// # Outbox
//
// AddEvent writes an event to oc_outbox inside the caller's transaction, so
// the event exists if and only if the change committed, and issues
// NOTIFY oc_outbox (delivered at commit). A Relay claims unpublished rows with
// SELECT … FOR UPDATE SKIP LOCKED ORDER BY id, publishes them with the
// EventPublisher (which must return only after the broker confirmed), marks
// them published in the same transaction, and purges published rows after a
// retention period. It is woken by LISTEN on a dedicated connection and polls
// as a fallback.
//
// Cost: PostgreSQL serialises the commits of transactions that issued
// NOTIFY (a server-wide lock held through the commit's WAL flush, so that
// notifications queue in commit order). Transactions that call AddEvent
// therefore do not group-commit with each other; plain writes are not
// affected. Keep events to the transactions that need them; see
// BenchmarkNotifyCost for the figure on a given machine.
//
// Delivery guarantee: at least once. An event is published again only when
// the relay (or its database connection) dies after the broker confirmed and
// before the marking transaction committed; consumers deduplicate by event
// id with HandleOnce.
//
// Ordering guarantee: one relay publishes in id order (UUIDv7, creation
// time), and after a publish failure it retries from the first unpublished
// event, so it never overtakes a failed event. Two events of the same
// aggregate written by transactions that lock the aggregate's row are
// therefore published in commit order when a single relay runs. With several
// relays (several instances) batches are published concurrently and events
// may be reordered; a transaction that commits late can also place an older
// id behind newer ones already published. Consumers must not rely on global
// order: they check state (status transitions, versions) instead.
//
// # Inbox
//
// HandleOnce runs a consumer's effect and records (consumer, event id) in
// oc_inbox in one transaction: a redelivered event changes nothing. Rows
// older than the inbox retention are purged by the relay; an event
// redelivered after that (for example a dead letter replayed weeks later) is
// handled as new.
package pg
