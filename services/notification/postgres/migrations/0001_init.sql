-- The notification service's own copy of what it needs about users (fed by
-- user.registered / user.updated), the in-app notifications, per-user
-- preferences, and two outboxes: push (to NATS JetStream) and email (SMTP).

CREATE TABLE users (
    id         uuid PRIMARY KEY,
    email      text NOT NULL,
    name       text NOT NULL DEFAULT '',
    disabled   boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notifications (
    id         uuid PRIMARY KEY, -- v7: ordered by creation, the keyset of lists
    user_id    uuid NOT NULL,
    kind       text NOT NULL,
    title      text NOT NULL,
    body       text NOT NULL,
    data       jsonb NOT NULL DEFAULT '{}',
    read_at    timestamptz,
    created_at timestamptz NOT NULL
);
CREATE INDEX notifications_user ON notifications (user_id, id DESC);
CREATE INDEX notifications_user_unread ON notifications (user_id, id DESC) WHERE read_at IS NULL;

CREATE TABLE preferences (
    user_id uuid NOT NULL,
    kind    text NOT NULL,
    in_app  boolean NOT NULL,
    email   boolean NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- Rows written with the notification, published to notify.user.<id> with
-- Nats-Msg-Id = notification_id, deleted once JetStream acknowledged.
CREATE TABLE push_outbox (
    notification_id uuid PRIMARY KEY,
    user_id         uuid NOT NULL,
    payload         bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- One row per email. pending rows are sent by the mailer (claimed with a
-- lease in next_attempt_at); sent is final; failed means the SMTP server
-- refused it permanently (5xx); skipped means no address was known or the
-- account is disabled (recorded, never sent).
CREATE TABLE emails (
    id              uuid PRIMARY KEY, -- also the Message-ID's local part
    user_id         uuid NOT NULL,
    notification_id uuid,
    kind            text NOT NULL,
    to_addr         text NOT NULL DEFAULT '',
    subject         text NOT NULL,
    text_body       text NOT NULL,
    html_body       text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX emails_due ON emails (next_attempt_at) WHERE status = 'pending';
CREATE INDEX emails_user ON emails (user_id, created_at DESC);
