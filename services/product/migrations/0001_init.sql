-- Product service schema. Every uniqueness rule is a constraint; money is
-- integer minor units; stock and reserved never go below zero (CHECK).

CREATE TABLE categories (
    id         uuid PRIMARY KEY,
    parent_id  uuid REFERENCES categories (id) ON DELETE RESTRICT,
    name       text NOT NULL,
    slug       text NOT NULL UNIQUE,
    -- path holds the ids from the root down to this category (itself last):
    -- "in this subtree" is path @> ARRAY[id].
    path       uuid[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX categories_parent ON categories (parent_id);
CREATE INDEX categories_path ON categories USING gin (path);

CREATE TABLE products (
    id            uuid PRIMARY KEY,
    seller_id     text NOT NULL,
    category_id   uuid NOT NULL REFERENCES categories (id) ON DELETE RESTRICT,
    -- category_path is a copy of categories.path of category_id, kept in
    -- step by the service, so that a sub-category filter is one GIN probe
    -- (category_path && $categories) instead of a recursive query.
    category_path uuid[] NOT NULL,
    name          text NOT NULL,
    slug          text NOT NULL UNIQUE,
    description   text NOT NULL DEFAULT '',
    price         bigint NOT NULL CHECK (price >= 0),
    currency      text NOT NULL DEFAULT 'USD',
    sku           text UNIQUE,
    status        text NOT NULL CHECK (status IN ('draft', 'active', 'archived')),
    properties    jsonb NOT NULL DEFAULT '[]',
    featured      boolean NOT NULL DEFAULT false,
    featured_at   timestamptz,
    stock         bigint NOT NULL DEFAULT 0 CHECK (stock >= 0),
    reserved      bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    rating_sum    bigint NOT NULL DEFAULT 0,
    rating_count  bigint NOT NULL DEFAULT 0,
    rating_avg    double precision GENERATED ALWAYS AS
                  (CASE WHEN rating_count = 0 THEN 0 ELSE rating_sum::double precision / rating_count END) STORED,
    search        tsvector GENERATED ALWAYS AS
                  (setweight(to_tsvector('english', name), 'A') ||
                   setweight(to_tsvector('english', description), 'B')) STORED,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Listing indexes: one per sort over the public (active) catalogue, so a
-- keyset page is an index range scan; the GIN indexes serve q and category.
CREATE INDEX products_search ON products USING gin (search);
CREATE INDEX products_category_path ON products USING gin (category_path);
CREATE INDEX products_category ON products (category_id);
CREATE INDEX products_active_newest ON products (created_at DESC, id DESC) WHERE status = 'active';
CREATE INDEX products_active_price ON products (price, id) WHERE status = 'active';
CREATE INDEX products_active_rating ON products (rating_avg DESC, id DESC) WHERE status = 'active';
CREATE INDEX products_featured ON products (created_at DESC, id DESC) WHERE status = 'active' AND featured;
CREATE INDEX products_seller_newest ON products (seller_id, created_at DESC, id DESC);

CREATE TABLE product_variants (
    id            uuid PRIMARY KEY,
    product_id    uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    position      int NOT NULL,
    sku           text UNIQUE,
    price         bigint NOT NULL CHECK (price >= 0),
    properties    jsonb NOT NULL DEFAULT '[]',
    image_file_id uuid,
    stock         bigint NOT NULL DEFAULT 0 CHECK (stock >= 0),
    reserved      bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0)
);
CREATE INDEX product_variants_product ON product_variants (product_id, position);
CREATE INDEX product_variants_image ON product_variants (image_file_id) WHERE image_file_id IS NOT NULL;

CREATE TABLE product_images (
    product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    file_id    uuid NOT NULL,
    position   int NOT NULL,
    PRIMARY KEY (product_id, file_id)
);
CREATE INDEX product_images_file ON product_images (file_id);

-- The inventory ledger is append-only (a trigger refuses UPDATE and
-- DELETE); it outlives deleted products on purpose (no foreign key).
CREATE TABLE inventory_ledger (
    id         bigserial PRIMARY KEY,
    product_id uuid NOT NULL,
    variant_id uuid,
    kind       text NOT NULL CHECK (kind IN ('incoming', 'outgoing', 'reservation', 'release', 'adjustment')),
    quantity   bigint NOT NULL,
    reason     text NOT NULL,
    actor_id   text NOT NULL,
    order_id   uuid,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inventory_ledger_product ON inventory_ledger (product_id, id DESC);

CREATE FUNCTION inventory_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'inventory_ledger is append-only';
END $$;
CREATE TRIGGER inventory_ledger_append_only BEFORE UPDATE OR DELETE ON inventory_ledger
    FOR EACH ROW EXECUTE FUNCTION inventory_ledger_append_only();

-- One reservation per order. status: held (units taken from stock),
-- committed (sold), released (returned: cancelled or expired), rejected
-- (nothing taken). A cancellation that arrives before the order.placed it
-- follows inserts a released row, so the late placement reserves nothing.
CREATE TABLE reservations (
    order_id   uuid PRIMARY KEY,
    user_id    text NOT NULL,
    status     text NOT NULL CHECK (status IN ('held', 'committed', 'released', 'rejected')),
    reason     text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reservations_held ON reservations (created_at) WHERE status = 'held';

CREATE TABLE reservation_lines (
    order_id   uuid NOT NULL REFERENCES reservations (order_id) ON DELETE CASCADE,
    line       int NOT NULL,
    product_id uuid NOT NULL,
    variant_id uuid,
    quantity   bigint NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, line)
);
CREATE INDEX reservation_lines_product ON reservation_lines (product_id);

CREATE TABLE reviews (
    id         uuid PRIMARY KEY,
    product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    user_id    text NOT NULL,
    rating     smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    title      text NOT NULL DEFAULT '',
    body       text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reviews_one_per_user UNIQUE (product_id, user_id)
);
CREATE INDEX reviews_product_newest ON reviews (product_id, created_at DESC, id DESC);

CREATE TABLE comments (
    id          uuid PRIMARY KEY,
    product_id  uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    parent_id   uuid REFERENCES comments (id) ON DELETE CASCADE,
    user_id     text NOT NULL,
    body        text NOT NULL,
    is_question boolean NOT NULL DEFAULT false,
    by_seller   boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comments_product_roots ON comments (product_id, created_at DESC, id DESC) WHERE parent_id IS NULL;
CREATE INDEX comments_parent ON comments (parent_id, created_at) WHERE parent_id IS NOT NULL;

CREATE TABLE reactions (
    product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    user_id    text NOT NULL,
    type       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, user_id, type)
);
