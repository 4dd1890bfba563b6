-- A file is published when another service attached it where everyone sees
-- it (an avatar on a profile, an image on a review): from then on anyone
-- may read it, like a product image. Unattached uploads of those purposes
-- and documents stay private to their owner.
ALTER TABLE files ADD COLUMN published boolean NOT NULL DEFAULT false;
