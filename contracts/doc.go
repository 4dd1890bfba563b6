// Package contracts holds the wire contracts of OpenCommerce: the RPC
// envelope (AMQP properties and headers), the error codes and their HTTP
// statuses, the event envelope, and every method's request and reply and
// every event's payload.
//
// These types are the only thing services share. A service never imports
// another service's package; it imports contracts. JSON Schema files for the
// types here are generated into contracts/schema (go run ./cmd/opencommerce
// gen-schemas) and a test fails when they are stale.
package contracts
