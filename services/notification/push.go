package notification

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/opencommerce/opencommerce/internal/pg"
)

// pusher publishes push_outbox rows to notify.user.<id> in JetStream (with
// Nats-Msg-Id = the notification id, so a row published twice — a crash
// between the PubAck and the delete — is stored once within the stream's
// duplicate window) and deletes them once acknowledged. Rows are taken in
// creation order, so one user's notifications keep their order.
type pusher struct {
	c  *core
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
	n := 0
	var pubErr error
	err := pg.InTx(ctx, p.c.pool, func(tx pgx.Tx) error {
		n = 0
		rows, err := tx.Query(ctx, `SELECT notification_id, user_id, payload FROM push_outbox
			ORDER BY created_at, notification_id LIMIT $1 FOR UPDATE SKIP LOCKED`, pushBatch)
		if err != nil {
			return err
		}
		type row struct {
			id, user uuid.UUID
			payload  []byte
		}
		var batch []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.user, &r.payload); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var done []uuid.UUID
		for _, r := range batch {
			subj, err := p.c.cfg.NATS.UserSubject(r.user.String())
			if err != nil {
				return err
			}
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err = p.js.Publish(pctx, subj, r.payload, jetstream.WithMsgID(r.id.String()))
			cancel()
			if err != nil {
				pubErr = fmt.Errorf("publish %s: %w", subj, err)
				break
			}
			done = append(done, r.id)
		}
		n = len(done)
		if n == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `DELETE FROM push_outbox WHERE notification_id = ANY($1)`, done)
		return err
	})
	if err != nil {
		return n, err
	}
	if pubErr != nil {
		return n, pubErr
	}
	p.c.m.pushed.Add(float64(n))
	return n, nil
}
