-- Blobs: one row per distinct content (sha256), with the number of
-- references (file bytes and thumbnails) to it. A blob's file on disk is
-- removed after the commit that drops its last reference.
CREATE TABLE blobs (
    sha256     text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size       bigint NOT NULL CHECK (size >= 0),
    refs       integer NOT NULL CHECK (refs > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Files: the metadata of each uploaded (or copied) file.
CREATE TABLE files (
    id                 uuid PRIMARY KEY,
    owner_id           text NOT NULL CHECK (owner_id <> ''),
    purpose            text NOT NULL CHECK (purpose IN ('product_image', 'avatar', 'review_image', 'document')),
    folder             text NOT NULL DEFAULT '' CHECK (length(folder) <= 200),
    name               text NOT NULL DEFAULT '' CHECK (length(name) <= 255),
    content_type       text NOT NULL,
    size               bigint NOT NULL CHECK (size > 0),
    sha256             text NOT NULL REFERENCES blobs (sha256),
    width              integer NOT NULL DEFAULT 0,
    height             integer NOT NULL DEFAULT 0,
    thumb_sha256       text REFERENCES blobs (sha256),
    thumb_content_type text,
    created_at         timestamptz NOT NULL DEFAULT now()
);

-- Keyset pages of an owner's files, newest first (ids are UUIDv7).
CREATE INDEX files_owner_id ON files (owner_id, id DESC);
CREATE INDEX files_owner_folder_id ON files (owner_id, folder, id DESC);
CREATE INDEX files_sha256 ON files (sha256);
CREATE INDEX files_thumb_sha256 ON files (thumb_sha256) WHERE thumb_sha256 IS NOT NULL;
