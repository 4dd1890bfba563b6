// Package product is the product service: the category tree, products with
// variants, properties and images, full-text search and listing, inventory
// with reservations for orders, reviews, comments and reactions.
//
// # Layout
//
// rpc.go decodes the gateway's envelope and calls the domain (core, in
// categories.go, products.go, search.go, inventory.go, social.go,
// lookup.go); events.go applies consumed events through pg.HandleOnce;
// cache.go is the Redis read-through cache (a change purges before and
// after commit and fences the purged keys for a second, so a read that
// loaded the old rows cannot cache them back); migrations/ is the schema. The
// domain speaks SQL directly: the invariants that matter (no oversell,
// exact ratings, unique slugs/SKUs/reviews) are single statements and
// constraints, and splitting them behind a repository interface would only
// hide them.
//
// # Decisions
//
//   - Sub-category filters use a materialised path: categories.path holds
//     the ancestor ids, and products.category_path a copy of their
//     category's path, so "in this subtree" is one GIN probe
//     (category_path && $ids). Moving a category rewrites the paths of its
//     subtree and its products in the same transaction.
//   - Search: a generated tsvector (name weight A, description B, english),
//     a GIN index, websearch_to_tsquery and ts_rank. Each sort has a partial
//     index over active products; pages are keyset (cursor = base64url JSON
//     of the sort key and id, valid only for its sort). total=true runs a
//     separate count with the same filters. Queries with q are planned for
//     their actual words each time (pgx QueryExecModeExec): under the
//     generic plan of a cached statement websearch_to_tsquery ran once per
//     matching row and the planner guessed the word's frequency.
//   - Relevance for one word: ranking every match before the LIMIT cost
//     ~13–15 ms for a word in 5% of 100k products. product_search_terms
//     (migration 0003) holds, per active product and distinct lexeme, the
//     single-lexeme tsquery and ts_rank(search, it), kept by triggers in the
//     writing transaction (text or status changes; stock, price and rating
//     updates do not fire them). A query whose tsquery is one lexeme, over
//     the whole public catalogue or a price range, reads a page in rank
//     order from that table's primary key (0.3–0.7 ms) and counts from it;
//     several lexemes, phrases and negations, and relevance with category,
//     seller, status or featured filters, rank every match from the GIN
//     index as before (their matches are fewer, or narrowed by their own
//     indexes first). The ranks are the same values, so results, order,
//     cursors and totals are identical on both paths (a test compares them
//     page by page); no result is dropped or approximated. The price is
//     storage and write cost: one row per (active product, distinct
//     lexeme), ~860k rows / ~150 MB with indexes for the 100k seeded
//     products (the GIN index is 8 MB), and a product write that changes
//     its text rewrites its rows. Catalogues with long descriptions should
//     watch that table's size; bounding it (name lexemes only, which always
//     outrank description-only matches of one word) is the next step if it
//     matters.
//   - Stock is "available" units; reserved units are counted apart. An
//     order reserves all its lines in one transaction with
//     UPDATE … SET stock = stock - q WHERE stock >= q inside a savepoint that
//     is rolled back if any line falls short (inventory.rejected lists the
//     shortfalls). Lines are merged and locked in a fixed order, so
//     concurrent orders cannot deadlock. CHECK (stock >= 0) backs it up.
//     A line without variant_id takes the product-level stock.
//   - Reservations are keyed by order id: a redelivery under a new event id
//     reserves nothing twice, and a cancellation that overtakes its
//     order.placed leaves a tombstone so the late placement reserves
//     nothing. order.paid turns held units into outgoing ones; a payment
//     arriving after the reservation expired is logged as an error and
//     left to the order service (nothing is taken blindly).
//   - order.cancelled of a paid order (prev_status paid / refunded; the
//     reservation is committed) puts the sold units back in stock: the
//     goods never shipped. It is ledgered as incoming with the order id,
//     announced as inventory.released with reason "returned", and the
//     reservation becomes "returned", so a second cancellation (a new
//     event id) returns nothing again. order.refunded of an order that
//     never shipped (shipped=false, status refunded) returns the units the
//     same way; a refund of a shipped or delivered order brings no goods
//     back.
//   - The ledger is append-only (a trigger refuses UPDATE/DELETE) and has
//     no foreign key: it outlives deleted products.
//   - Deleting a product is a hard delete (variants, images, reviews,
//     comments, reactions go with it), refused while units are reserved.
//     Slugs never change after creation.
//   - Ratings are kept as sum and count on the product, moved by atomic
//     increments in the review's transaction; the average is sum/count.
//   - Product documents are cached in Redis under <prefix>product:doc:<id>
//     (and slug → id, and the category tree). Every committed change deletes
//     the keys it touched; the TTL bounds staleness left by a read racing a
//     write. The value is the final reply JSON behind a short header
//     (format tag, status, seller id, slug; see encodeDoc), so product.get,
//     get_by_slug and list return the cached bytes as json.RawMessage
//     without decoding and re-encoding them; the header answers draft
//     visibility and stale slugs. A read is one GET; a miss is one query
//     that builds the whole document (variants, images and reaction counts
//     aggregated in LATERAL subqueries), one json.Marshal and one SET.
//     Values in the older plain-JSON form count as misses. product.created/updated/deleted are emitted for the gateway's
//     cache on product changes, images, featured, ratings, inventory
//     adjustments and reservations that change a stock status.
package product
