-- Order numbers, variant snapshots in order lines, and paying again after a
-- declined card.

-- Every order gets a short, unique, human-friendly number from a sequence
-- (the UUIDv7 id's first digits are a timestamp shared by every order of
-- the same minute, so they cannot serve). Existing orders are numbered in
-- the table's order; new ones take nextval at checkout.
CREATE SEQUENCE order_numbers START 100001;
ALTER TABLE orders ADD COLUMN number bigint NOT NULL DEFAULT nextval('order_numbers');
ALTER TABLE orders ADD CONSTRAINT orders_number_key UNIQUE (number);

-- A declined card leaves the order awaiting_payment (stock still held)
-- until the buyer pays again or the payment window ends.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN
    ('pending', 'reserved', 'awaiting_payment', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'));
-- charge_seq numbers the charges asked of the provider for an order: the
-- provider's idempotency key is the order id for the first and
-- "<id>:<seq>" after, so a new card is a new charge while a retry of the
-- same attempt stays idempotent.
ALTER TABLE orders ADD COLUMN charge_seq int NOT NULL DEFAULT 1;
-- The sweeper cancels orders whose payment window ended.
CREATE INDEX orders_awaiting_payment ON orders (created_at) WHERE status = 'awaiting_payment';

-- The card of each charge attempt (the last four digits only).
ALTER TABLE payments ADD COLUMN card_last4 text NOT NULL DEFAULT '';

-- What was bought, as it was: the variant's name, options and SKU.
ALTER TABLE order_items ADD COLUMN variant_name    text  NOT NULL DEFAULT '';
ALTER TABLE order_items ADD COLUMN variant_options jsonb NOT NULL DEFAULT '[]';
ALTER TABLE order_items ADD COLUMN sku             text  NOT NULL DEFAULT '';
