-- Session revocation: per user, "access tokens issued at or before
-- revoked_before are void" (microseconds, the signer's clock). Written in
-- the same transaction as the change that ends the sessions (disable, role
-- change, password change, log out everywhere) and its
-- user.sessions_revoked event; gateways load the recent ones on start.
CREATE TABLE session_cutoffs (
    user_id        uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    revoked_before timestamptz NOT NULL
);
CREATE INDEX session_cutoffs_recent ON session_cutoffs (revoked_before);
