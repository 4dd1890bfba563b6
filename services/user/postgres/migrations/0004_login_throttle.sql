-- Sign-in throttling by (account, client IP) and by IP (account package
-- doc): the time of the latest failure of a counter, from which the
-- growing delay of an (account, IP) pair runs. NULL (rows of before this
-- migration): the window's start stands in.
ALTER TABLE login_failures ADD COLUMN last_at timestamptz;

-- Known sign-in places: a client IP from which an account signed in
-- successfully; until expires_at that IP is throttled only by its own
-- failures on the account. account is the normalized email.
CREATE TABLE login_known (
    account    text NOT NULL,
    ip         text NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (account, ip)
);
CREATE INDEX login_known_expires ON login_known (expires_at);
