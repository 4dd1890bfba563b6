-- Products deleted from the catalogue, by their last known name: carts,
-- wishlists and checkout still say what the shopper had chosen ("no longer
-- available") instead of showing an empty line. Nothing else of a deleted
-- product is kept here.
CREATE TABLE deleted_products (
    id         uuid PRIMARY KEY,
    seller_id  text NOT NULL,
    name       text NOT NULL,
    slug       text NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now()
);
