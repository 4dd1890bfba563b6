CREATE TABLE widgets (id bigint PRIMARY KEY, name text NOT NULL);
INSERT INTO widgets VALUES (1, 'first');
