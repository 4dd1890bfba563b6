-- The order service's tables. Append new files; never edit an applied one.

CREATE TABLE orders (
    id                uuid        PRIMARY KEY,           -- UUIDv7: keyset pages by id
    user_id           text        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('pending', 'reserved', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded')),
    status_reason     text        NOT NULL DEFAULT '',
    currency          text        NOT NULL,
    subtotal          bigint      NOT NULL CHECK (subtotal >= 0),
    total             bigint      NOT NULL CHECK (total > 0),
    shipping_address  jsonb       NOT NULL,
    payment_status    text        NOT NULL CHECK (payment_status IN ('pending', 'succeeded', 'failed', 'voided', 'refunded')),
    payment_method    text        NOT NULL DEFAULT 'card',
    payment_token     text        NOT NULL,              -- the provider's token; never the card number
    card_brand        text        NOT NULL DEFAULT '',
    card_last4        text        NOT NULL DEFAULT '',
    charge_ref        text        NOT NULL DEFAULT '',   -- the provider's reference of the charge
    charge_lease      timestamptz,                       -- a charge attempt in flight until then
    carrier           text        NOT NULL DEFAULT '',
    tracking_number   text        NOT NULL DEFAULT '',
    reserved_at       timestamptz,
    paid_at           timestamptz,
    shipped_at        timestamptz,
    delivered_at      timestamptz,
    closed_at         timestamptz,                       -- cancelled or refunded
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_user ON orders (user_id, id DESC);
CREATE INDEX orders_status ON orders (status, id DESC);
-- The recovery sweeper reads only orders in flight.
CREATE INDEX orders_in_flight ON orders (updated_at) WHERE status IN ('pending', 'reserved');

CREATE TABLE order_items (
    order_id    uuid    NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line        int     NOT NULL,
    product_id  uuid    NOT NULL,
    variant_id  uuid,
    seller_id   text    NOT NULL,
    name        text    NOT NULL,
    quantity    bigint  NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    unit_price  bigint  NOT NULL CHECK (unit_price >= 0),
    total       bigint  NOT NULL CHECK (total >= 0),
    PRIMARY KEY (order_id, line)
);
-- Sellers list the orders holding their products, newest first.
CREATE INDEX order_items_seller ON order_items (seller_id, order_id DESC);

-- Checkout idempotency: one order per (user, key). The reply is stored so a
-- replay answers exactly what the first request answered.
CREATE TABLE idempotency_keys (
    user_id      text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    order_id     uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    reply        bytea       NOT NULL,             -- the reply body, byte for byte
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Every attempt to charge or refund, with its outcome.
CREATE TABLE payments (
    order_id     uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    attempt      int         NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('charge', 'refund')),
    status       text        NOT NULL CHECK (status IN ('succeeded', 'declined', 'error')),
    amount       bigint      NOT NULL,
    currency     text        NOT NULL,
    provider_ref text        NOT NULL DEFAULT '',
    error        text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, attempt)
);

-- The built-in test payment provider's own durable state (see
-- services/order/payment). A real provider keeps this on its side.
CREATE TABLE test_provider_tokens (
    token      text        PRIMARY KEY,
    brand      text        NOT NULL,
    last4      text        NOT NULL,
    behaviour  text        NOT NULL,
    exp_month  int         NOT NULL,
    exp_year   int         NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE test_provider_charges (
    idempotency_key text        PRIMARY KEY,
    token           text        NOT NULL,
    amount          bigint      NOT NULL CHECK (amount > 0),
    currency        text        NOT NULL,
    status          text        NOT NULL,
    decline_code    text        NOT NULL DEFAULT '',
    ref             text        NOT NULL UNIQUE,
    refunded_amount bigint      NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE test_provider_refunds (
    idempotency_key text        PRIMARY KEY,
    charge_ref      text        NOT NULL REFERENCES test_provider_charges (ref),
    amount          bigint      NOT NULL CHECK (amount > 0),
    currency        text        NOT NULL,
    ref             text        NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now()
);
