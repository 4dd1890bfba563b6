// Package notify is the notification service's domain. It consumes order,
// product-social and user events (once each, Store.ApplyOnce) and
// turns them into notifications for the buyer, the seller or the user, on
// the channels each chose per kind (notification.preferences.*):
//
//   - in-app: stored, listed newest first with keyset pages and an unread
//     filter, marked read one by one or all at once (notification.*);
//   - push: every in-app notification is also published to NATS
//     notify.user.<id> (JetStream stream NOTIFY) through a push outbox, for
//     the gateway's SSE and WebSocket streams (edge/stream);
//   - email: rendered at event time (plain text and HTML) into an email
//     outbox that a worker sends over SMTP; see mail.go for the delivery
//     contract and its one at-least-once corner.
//
// It keeps its own copy of users' email addresses from user.registered and
// user.updated: the user service has no service-to-service lookup, so an
// email to a user whose address it never learned is recorded as skipped.
//
// Notifications older than notification.retention (90 days) and finished
// emails older than notification.email-retention (30 days) are deleted by
// an hourly sweep (retention.go); pending emails are kept until sent.
//
// It depends only on the Store interface it declares (store.go);
// services/notification/postgres implements it, and services/notification
// wires both to the bus. deliveries.go has one builder per event type.
package notify
