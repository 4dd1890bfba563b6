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
// per connection. See BENCHMARKS.md ("RPC layer") for the figures that
// picked the default.
//
// # Events
//
// Publisher publishes with publisher confirms, keeping a window of
// confirms in flight. Consumer consumes events.<service> with manual acks;
// a failed event goes to events.<service>.retry (TTL RetryDelay, dead-lettered
// back) with its attempt count in x-attempts, and after MaxAttempts to
// events.<service>.dlq, from where ReplayDeadLetters brings it back.
package bus
