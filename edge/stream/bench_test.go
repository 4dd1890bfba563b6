package stream_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/opencommerce/opencommerce/edge/stream/streamtest"
)

// BenchmarkPublishToSSE measures one notification from a JetStream publish
// (with its PubAck) to its arrival on an open SSE stream, one at a time.
func BenchmarkPublishToSSE(b *testing.B) {
	f := newFixtureTB(b)
	base := f.hubTB(b)
	user := uuid.NewString()
	s := streamtest.Open(b, base+"/sse?user="+user, "")
	subj, _ := f.env.Scheme.UserSubject(user)
	payload := []byte(`{"id":"0190c6b2-7f3a-7cde-8f00-000000000001","kind":"order_paid","title":"Payment confirmed","body":"We received your payment of $1,274.54.","data":{},"read":false,"created_at":"2026-01-01T00:00:00Z"}`)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.js.Publish(ctx, subj, payload, jetstream.WithMsgID(uuid.NewString())); err != nil {
			b.Fatal(err)
		}
		s.Next(b, wait)
	}
}
