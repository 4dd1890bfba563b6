// Package bus is OpenCommerce's messaging runtime on RabbitMQ (amqp091-go):
// a supervised connection (Conn), RPC over the oc.rpc exchange (Client,
// Server, Invoke), and events on oc.events (Publisher, Consumer,
// ReplayDeadLetters).
//
// # Connection
//
// Dial connects and supervises: on loss it reconnects with exponential
// backoff and full jitter, re-declares oc.rpc, oc.events and every
// TopologyFunc registered with Conn.Declare, drains every Notify* channel
// it registers, and fails publishes fast (unavailable) while the broker
// blocks publishers. Ready is nil only when connected and unblocked; wire
// it into /readyz. amqp091-go's own recovery is not used (see Conn).
//
// # RPC
//
// A request is published to oc.rpc with routing key = service, type =
// method, mandatory set (no bound queue → the broker returns it and the
// caller gets unavailable at once), expiration = milliseconds left before
// the caller's deadline, and headers x-deadline (Unix ms), x-request-id,
// x-actor-id, x-actor-role, traceparent. The server skips requests whose
// deadline passed (oc_rpc_server_expired_total), replies once with header
// x-status ("ok" or a code) and a JSON body, then acks. Handlers decode
// input with Decode / DecodeEnvelope so every service rejects bad input
// the same way (invalid_argument).
//
// Client.Call returns a transport error (*contracts.Error unavailable or
// deadline_exceeded) only when no reply was had; any reply, success or
// error, is a Reply. Invoke is the typed form.
//
// # Reply path
//
// Two reply paths are implemented (ClientConfig.ReplyPath, flag
// amqp.reply-path): Direct Reply-To (each publishing channel consumes
// amq.rabbitmq.reply-to no-ack) and one exclusive auto-named reply queue
// per connection. Measured on the 2-core development machine (bench:
// go run ./tools/benchrpc/cmd -dur=6s, 2026-11-26; bare amqp091-go
// echo in the same run, modes interleaved in 12 slices; machine shared and
// noisy, ±10% between runs), two runs:
//
//	in flight                 1          16         64           256
//	bare amqp091-go           2349/2468  7685/8954  11944/11893  14049/18408 /s
//	bus, reply queue / bare   1.05/1.07  0.95/0.87  1.09/1.10    0.87/0.99
//	bus, Direct Reply-To/bare 0.91/0.78  0.83/0.75  0.98/0.93    0.86/0.84
//
// The reply queue matched or beat Direct Reply-To in every interleaved
// run, so it is the default (ReplyQueue). A round trip (client and server
// in one process) costs about 44 µs of this process's CPU against 41 µs for
// the bare echo and allocates 207 times against 169, nearly all of it in
// amqp091-go encoding the richer request (x-deadline table, expiration,
// content type). The broker's share of a round trip (most of the two
// cores) is the same for both: in a separate experiment, adding the
// headers, expiration, mandatory flag or reply queue to the bare echo moved
// its throughput within the run's noise (−13% to +26%, no consistent sign). Details in BENCHMARKS.md ("RPC layer").
//
// # Write coalescing
//
// amqp091-go writes each publish to the socket with its own system call,
// under the connection's send lock. Conn wraps the socket (coalescingConn)
// so that Write only queues the bytes and one flusher goroutine writes
// whatever gathered while its previous write was in the kernel: no waiting
// for a batch, one FIFO, errors sticky, 4 MiB bound. In one interleaved run
// (benchrpc, 2026-11-26) it gave 1.06/1.14/1.16/1.10 times the round trips
// of the same bus writing synchronously at 1/16/64/256 in flight, putting
// the bus at 1.02/1.15/1.15/1.11 of the bare echo; Config.SyncWrites
// (amqp.sync-writes) turns it off.
//
// # Events
//
// Publisher publishes with publisher confirms, keeping a window of
// confirms in flight. Consumer consumes events.<service> with manual acks;
// a failed event goes to events.<service>.retry (TTL RetryDelay, dead-lettered
// back) with its attempt count in x-attempts, and after MaxAttempts to
// events.<service>.dlq, from where ReplayDeadLetters brings it back.
//
// The three queues are classic or quorum (ConsumerConfig.QueueType, flag
// amqp.queue-type). A quorum queue is replicated, so a node's loss loses
// no event; its retry queue uses the same TTL and dead-letters back at
// least once (at most once, the default, would drop an event whose delay
// ends while the main queue has no leader). Classic queues are declared
// without x-queue-type, as before the setting, so existing ones stay
// equivalent. The broker refuses to redeclare a queue as another type;
// DeclareEventQueues turns that refusal into an error naming the queue and
// the way out (the README's "Operations"). RPC queues are not affected.
package bus
