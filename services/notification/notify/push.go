package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// pusher publishes push_outbox rows to notify.user.<id> in JetStream (with
// Nats-Msg-Id = the notification id, so a row published twice — a crash
// between the PubAck and the delete — is stored once within the stream's
// duplicate window) and deletes them once acknowledged. Rows are taken in
// creation order, so one user's notifications keep their order.
type pusher struct {
	c  *Core
	js jetstream.JetStream
}

const pushBatch = 100

func (p *pusher) run(ctx context.Context) {
	t := time.NewTicker(p.c.cfg.PollInterval)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			n, err := p.pushBatch(ctx)
			if err != nil {
				if ctx.Err() == nil {
					p.c.log.Warn("push to NATS", "err", err)
				}
				break
			}
			if n < pushBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.c.wakePush:
		}
	}
}

func (p *pusher) pushBatch(ctx context.Context) (int, error) {
	n, err := p.c.store.PublishPushes(ctx, pushBatch, func(r Push) error {
		subj, err := p.c.cfg.NATS.UserSubject(r.UserID.String())
		if err != nil {
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, err := p.js.Publish(pctx, subj, r.Payload, jetstream.WithMsgID(r.NotificationID.String())); err != nil {
			return fmt.Errorf("publish %s: %w", subj, err)
		}
		return nil
	})
	p.c.m.pushed.Add(float64(n))
	return n, err
}
