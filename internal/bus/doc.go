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
// go run ./internal/bus/benchrpc/cmd -dur=6s; bare amqp091-go echo in the
// same run; machine shared and noisy, ±30%):
//
//	in flight            1       16      64      256
//	bare amqp091-go      2573/s  7720/s  9010/s  10851/s
//	bus, Direct Reply-To 2568/s  5688/s  7837/s  9066/s
//	bus, reply queue     2195/s  7569/s  9246/s  9124/s
//	p50 reply queue      0.26ms  1.38ms  4.34ms  22.3ms
//	p99 reply queue      4.9ms   15.8ms  39.6ms  122ms
//
// The reply queue matched or beat Direct Reply-To at 16 and 64 in flight in
// every interleaved run, so it is the default (ReplyQueue). Details and the
// ratio to bare are in BENCHMARKS.md ("RPC layer").
//
// # Events
//
// Publisher publishes with publisher confirms, keeping a window of
// confirms in flight. Consumer consumes events.<service> with manual acks;
// a failed event goes to events.<service>.retry (TTL RetryDelay, dead-lettered
// back) with its attempt count in x-attempts, and after MaxAttempts to
// events.<service>.dlq, from where ReplayDeadLetters brings it back.
package bus
