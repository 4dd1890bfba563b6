package product

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Seed fills a migrated product database with test data: a three-level
// category tree (8 roots × 4 × 4) and n products spread over its leaves,
// with generated names and descriptions (for full-text search), prices,
// stock, ratings, units sold, colour and size properties and creation times
// over the past year; one product in ten
// is a draft, one in fifty is archived, one in a hundred is featured. It is
// meant for development and benchmarks, not production. Slugs and SKUs are
// made unique per call, so Seed can run more than once.
func Seed(ctx context.Context, pool *pgxpool.Pool, n int) error {
	var b [3]byte
	_, _ = rand.Read(b[:])
	batch := hex.EncodeToString(b[:])
	var leaves []uuid.UUID
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		roots := []string{"Electronics", "Home", "Garden", "Fashion", "Sports", "Toys", "Books", "Kitchen"}
		mids := []string{"Essentials", "Premium", "Outdoor", "Classic"}
		leafNames := []string{"Basics", "Pro", "Kids", "Travel"}
		for _, r := range roots {
			rid := newID()
			// Sibling names are unique: a second seed of the same database
			// names its roots after its batch.
			name := r
			var taken bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM categories WHERE parent_id IS NULL AND lower(name) = lower($1))`, r).Scan(&taken); err != nil {
				return err
			}
			if taken {
				name = r + " " + batch
			}
			if _, err := tx.Exec(ctx, `INSERT INTO categories (id, name, slug, path) VALUES ($1, $2, $3, $4)`,
				rid, name, slugify(r+" "+batch), []uuid.UUID{rid}); err != nil {
				return err
			}
			for _, m := range mids {
				mid := newID()
				if _, err := tx.Exec(ctx, `INSERT INTO categories (id, parent_id, name, slug, path) VALUES ($1, $2, $3, $4, $5)`,
					mid, rid, r+" "+m, slugify(r+" "+m+" "+batch), []uuid.UUID{rid, mid}); err != nil {
					return err
				}
				for _, l := range leafNames {
					lid := newID()
					if _, err := tx.Exec(ctx, `INSERT INTO categories (id, parent_id, name, slug, path) VALUES ($1, $2, $3, $4, $5)`,
						lid, mid, r+" "+m+" "+l, slugify(r+" "+m+" "+l+" "+batch), []uuid.UUID{rid, mid, lid}); err != nil {
						return err
					}
					leaves = append(leaves, lid)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("seed categories: %w", err)
	}
	// One statement for the products: generate_series with word arrays
	// picked by hashes of the row number (deterministic per batch).
	_, err = pool.Exec(ctx, `
WITH w AS (SELECT
	ARRAY['Ergonomic','Rustic','Sleek','Vintage','Compact','Wireless','Organic','Portable','Heavy-Duty','Handmade',
	      'Smart','Waterproof','Lightweight','Deluxe','Eco','Modern','Classic','Foldable','Premium','Budget'] AS adj,
	ARRAY['Steel','Wooden','Cotton','Leather','Ceramic','Bamboo','Glass','Plastic','Wool','Carbon'] AS mat,
	ARRAY['Chair','Lamp','Backpack','Headphones','Kettle','Blender','Tent','Jacket','Sneakers','Watch',
	      'Keyboard','Mouse','Speaker','Blanket','Mug','Bottle','Drone','Camera','Puzzle','Novel',
	      'Bicycle','Helmet','Skillet','Knife','Planter','Hose','Router','Monitor','Desk','Sofa'] AS noun,
	ARRAY['perfect for everyday use','built to last','loved by professionals','great gift idea','easy to clean',
	      'ships fast','with a two-year warranty','for indoor and outdoor use','energy efficient','award winning'] AS blurb,
	ARRAY['black','white','red','blue','green','grey','brown','yellow'] AS colour,
	ARRAY['S','M','L','XL'] AS size,
	$2::uuid[] AS leaves)
INSERT INTO products (id, seller_id, category_id, category_path, name, slug, description, price, sku, status,
	featured, stock, rating_sum, rating_count, units_sold, properties, created_at, updated_at)
SELECT gen_random_uuid(), 'seed-seller-' || (i % 200), leaves[1 + (h1 % cardinality(leaves))], '{}',
	name, 'seed-' || $3 || '-' || i,
	'The ' || name || ' is ' || blurb[1 + (h2 % 10)] || '. Made of ' || lower(mat[1 + (h3 % 10)]) || ', ' || blurb[1 + (h3 % 10)] || '.',
	100 + (h2 % 100000), 'SEED-' || $3 || '-' || i,
	CASE WHEN i % 10 = 0 THEN 'draft' WHEN i % 50 = 1 THEN 'archived' ELSE 'active' END,
	i % 100 = 7, h3 % 200, rc * (1 + h1 % 5), rc, h2 % 500,
	jsonb_build_array(jsonb_build_object('key', 'color', 'value', colour[1 + (h3 % 8)]), jsonb_build_object('key', 'size', 'value', size[1 + (h1 % 4)])),
	now() - make_interval(secs => (h1 % 31536000)), now()
FROM w, generate_series(1, $1) AS i,
	LATERAL (SELECT abs(hashint4(i)) AS h1, abs(hashint4(i + 1000003)) AS h2, abs(hashint4(i + 2000003)) AS h3) h,
	LATERAL (SELECT adj[1 + (h1 % 20)] || ' ' || mat[1 + (h2 % 10)] || ' ' || noun[1 + (h3 % 30)] AS name, h2 % 40 AS rc) x`,
		n, leaves, batch)
	if err != nil {
		return fmt.Errorf("seed products: %w", err)
	}
	if _, err := pool.Exec(ctx, `UPDATE products p SET category_path = c.path FROM categories c WHERE p.category_id = c.id AND p.category_path = '{}'`); err != nil {
		return fmt.Errorf("seed category paths: %w", err)
	}
	// VACUUM sets the visibility map, so counts and index-only scans do not
	// visit the heap (autovacuum would do the same a little later).
	_, err = pool.Exec(ctx, `VACUUM ANALYZE products, product_search_terms, search_words`)
	return err
}

// Seed implements catalogStore with Seed; stock above 0 then becomes the
// stock of every seeded product (their slugs start with "seed-").
func (s pgCatalog) Seed(ctx context.Context, n int, stock int64) error {
	if err := Seed(ctx, s.pool, n); err != nil {
		return err
	}
	if stock <= 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `UPDATE products SET stock = $1 WHERE slug LIKE 'seed-%' AND stock <> $1`, stock); err != nil {
		return fmt.Errorf("stock the seeded products: %w", err)
	}
	_, err := s.pool.Exec(ctx, `VACUUM ANALYZE products`)
	return err
}
