-- Sibling categories have distinct names, compared case-insensitively
-- ("Clothing" and "clothing" under one parent are the same shelf). Roots
-- are siblings of each other (parent_id NULL is mapped to the nil uuid).
-- Existing duplicates keep their place: later ones get a suffix first.
UPDATE categories c SET name = c.name || ' (' || left(c.id::text, 8) || ')', updated_at = now()
FROM (SELECT id, row_number() OVER (PARTITION BY coalesce(parent_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name)
                                    ORDER BY created_at, id) AS n
      FROM categories) d
WHERE d.id = c.id AND d.n > 1;
CREATE UNIQUE INDEX categories_sibling_name ON categories
    (coalesce(parent_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name));

-- Reviews are for customers who bought the product: a review is written
-- only by a user whose reservation of a paid order holding the product was
-- committed (the service's own record of the sale, fed by order.paid).
-- verified_purchase says so on the review; reviews written before the rule
-- are marked from the same record.
ALTER TABLE reviews ADD COLUMN verified_purchase boolean NOT NULL DEFAULT false;
-- A reviewer's purchases of a product: the reservations of the user's
-- sold orders, then their lines.
CREATE INDEX reservations_user_sold ON reservations (user_id) WHERE status = 'committed';
UPDATE reviews r SET verified_purchase = true
WHERE EXISTS (SELECT 1 FROM reservations s JOIN reservation_lines l ON l.order_id = s.order_id
              WHERE s.user_id = r.user_id AND s.status = 'committed' AND l.product_id = r.product_id);

-- Up to a few images per review (file ids of review_image files of the
-- author, made public when attached); file.deleted removes an id.
ALTER TABLE reviews ADD COLUMN image_file_ids uuid[] NOT NULL DEFAULT '{}';
CREATE INDEX reviews_image_files ON reviews USING gin (image_file_ids);
