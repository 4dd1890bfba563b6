-- Fulfilment per seller (shipments) and return requests.
--
-- An order's status now follows from its shipments once paid: the new
-- status partially_shipped sits between paid and shipped.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN
    ('pending', 'reserved', 'awaiting_payment', 'paid', 'partially_shipped', 'shipped', 'delivered', 'cancelled', 'refunded'));

-- One parcel of one seller's lines.
CREATE TABLE shipments (
    id              uuid        PRIMARY KEY,
    order_id        uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    seller_id       text        NOT NULL,
    carrier         text        NOT NULL,
    tracking_number text        NOT NULL,
    shipped_at      timestamptz NOT NULL,
    delivered_at    timestamptz
);
CREATE INDEX shipments_order ON shipments (order_id, shipped_at, id);

-- The lines of each shipment: a line ships at most once.
CREATE TABLE shipment_lines (
    order_id    uuid NOT NULL,
    line        int  NOT NULL,
    shipment_id uuid NOT NULL REFERENCES shipments (id) ON DELETE CASCADE,
    PRIMARY KEY (order_id, line),
    FOREIGN KEY (order_id, line) REFERENCES order_items (order_id, line) ON DELETE CASCADE
);
CREATE INDEX shipment_lines_shipment ON shipment_lines (shipment_id);

-- A buyer's request to return shipped lines of one seller.
CREATE TABLE return_requests (
    id          uuid        PRIMARY KEY,           -- UUIDv7: keyset pages by id
    order_id    uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    user_id     text        NOT NULL,
    seller_id   text        NOT NULL,
    status      text        NOT NULL CHECK (status IN ('requested', 'approved', 'rejected', 'refunded')),
    reason      text        NOT NULL,
    amount      bigint      NOT NULL CHECK (amount >= 0),
    currency    text        NOT NULL,
    note        text        NOT NULL DEFAULT '',
    decided_by  text        NOT NULL DEFAULT '',
    refund_ref  text        NOT NULL DEFAULT '',   -- the provider's reference of the refund
    refund_lease timestamptz,                      -- a refund call in flight until then
    created_at  timestamptz NOT NULL,
    decided_at  timestamptz,
    refunded_at timestamptz
);
CREATE INDEX return_requests_order ON return_requests (order_id, id);
CREATE INDEX return_requests_seller ON return_requests (seller_id, id DESC);
-- The sweeper finishes refunds of approved returns.
CREATE INDEX return_requests_approved ON return_requests (refund_lease) WHERE status = 'approved';

CREATE TABLE return_lines (
    return_id uuid   NOT NULL REFERENCES return_requests (id) ON DELETE CASCADE,
    order_id  uuid   NOT NULL,
    line      int    NOT NULL,
    quantity  bigint NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (return_id, line),
    FOREIGN KEY (order_id, line) REFERENCES order_items (order_id, line) ON DELETE CASCADE
);
CREATE INDEX return_lines_order ON return_lines (order_id, line);

-- Orders shipped before shipments existed: one shipment per seller of the
-- order, with the order's carrier, tracking number and times, holding that
-- seller's lines (so delivery, views and returns work on them as on new
-- ones).
INSERT INTO shipments (id, order_id, seller_id, carrier, tracking_number, shipped_at, delivered_at)
SELECT gen_random_uuid(), o.id, s.seller_id, o.carrier, o.tracking_number, o.shipped_at, o.delivered_at
FROM orders o JOIN (SELECT DISTINCT order_id, seller_id FROM order_items) s ON s.order_id = o.id
WHERE o.shipped_at IS NOT NULL;
INSERT INTO shipment_lines (order_id, line, shipment_id)
SELECT i.order_id, i.line, sh.id
FROM order_items i JOIN shipments sh ON sh.order_id = i.order_id AND sh.seller_id = i.seller_id;
