-- Keys the service makes for itself when none is configured, shared by
-- every instance (the unsubscribe links' HMAC key).
CREATE TABLE secrets (
    name       text PRIMARY KEY,
    value      bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
