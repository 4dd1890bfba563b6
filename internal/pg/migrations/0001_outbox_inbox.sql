-- The runtime's own tables (component "pg"). Append new files; never edit.

CREATE TABLE oc_outbox (
    id           uuid        PRIMARY KEY,          -- UUIDv7: creation order
    type         text        NOT NULL,             -- routing key, e.g. order.placed
    payload      json        NOT NULL,             -- the full contracts.Event, byte for byte
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz                       -- NULL until the broker confirmed
);

-- The relay's claim query and the pending gauge read only unpublished rows.
CREATE INDEX oc_outbox_unpublished ON oc_outbox (id) WHERE published_at IS NULL;
-- The purge deletes published rows by age.
CREATE INDEX oc_outbox_published_at ON oc_outbox (published_at) WHERE published_at IS NOT NULL;

CREATE TABLE oc_inbox (
    consumer   text        NOT NULL,
    event_id   text        NOT NULL,
    handled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

CREATE INDEX oc_inbox_handled_at ON oc_inbox (handled_at);
