// Package product is the product service: the category tree, products with
// variants, properties and images, full-text search and listing, inventory
// with reservations for orders, reviews, comments and reactions.
//
// # Layout
//
// rpc.go maps each product.* method to the domain through bus.Routed and
// bus.Query: the transport decodes the body into its contract type or
// parses the list filters (parseList, parseSuggest, parsePage), and the
// handlers receive typed values. The domain is core: categories.go,
// products.go (documents, read through the cache) and productwrite.go
// (product writes), search.go with searchq.go, facets.go, suggest.go,
// synonyms.go and searchcache.go, inventory.go, social.go, reviews.go,
// lookup.go; events.go applies consumed events exactly once; cache.go is
// the Redis read-through cache (a change purges before and after commit
// and fences the purged keys for a second, so a read that loaded the old
// rows cannot cache them back); migrations/ is the schema.
//
// # Anatomy
//
// The service has the anatomy of the user service (a domain that depends
// only on the store interfaces it declares, and an adapter implementing
// them), inside this package. store.go declares them: catalogStore (the
// reads) and catalogTx (what one write transaction does) for products,
// categories, the inventory RPCs, reviews, comments, reactions, synonyms,
// lookup's tombstones and seeding; inventoryStore and inventoryTx for the
// reservations driven by order events, the reservation sweeper and file
// deletions (HandleOnce records the consumed event in the inbox in the
// effect's transaction); searchStore for product.list, facets, the
// analysis of a search text and product.suggest. Their PostgreSQL adapter
// is the pg*.go files: pgcatalog.go, pgreviews.go, pgsocial.go,
// pginventory.go, pgsearch.go and pgseed.go (Seed); only they and the
// wiring that gives them a pool (service.go) import pgx or internal/pg, which TestOnlyTheAdapterSpeaksSQL
// checks. Every catalogue write has one shape: authorize and validate the
// input, ask the file service (images) after an unlocked ownership
// pre-check, then one transaction that re-checks ownership under the row
// lock; product writes answer with the document's cached JSON.
//
// The invariants of stock (no oversell, reserve and release commute) and
// the measured query plans of search rest on single statements, so each
// inventoryTx and searchStore method is one statement and the domain
// composes them: reserve takes each line with one UPDATE … WHERE stock >=
// q inside a savepoint (inventoryTx.Savepoint) and rejects the order when
// any line falls short; the domain decides the page strategy of a search
// (the term table, then the ranking query for prefix-only matches) and
// its caching, the adapter turns an analysed listQuery into its statement.
// The analysed text keeps its tsquery texts (match.mq, eq, nq, pq): they
// are the query's meaning in the search index's language, built from the
// analysis, and compared by the facet cache key.
//
// # Decisions
//
//   - Sub-category filters use a materialised path: categories.path holds
//     the ancestor ids, and products.category_path a copy of their
//     category's path, so "in this subtree" is one GIN probe
//     (category_path && $ids). Moving a category rewrites the paths of its
//     subtree and its products in the same transaction.
//   - Search (search.go, searchq.go, their statements in pgsearch.go;
//     migrations 0003 and 0006): a generated tsvector (name weight A,
//     description B) in the text search
//     configuration oc_search, english with unaccent before the stemmer, so
//     accents and case never matter; a GIN index. A query is analysed in
//     one round trip (analyse): the products whose SKU or a variant's SKU
//     is the text (case-insensitive indexes); per word its folded form,
//     whether the lexicon search_words (the folded words of active
//     products and categories, kept by triggers, stop words left out)
//     knows it, whether the last word is the prefix of a known word, the
//     store's synonyms (search_synonyms, one way), and for an unknown word
//     its nearest lexicon words (a nearest-neighbour scan of a trigram GiST
//     index, kept in Go within an edit distance of 1 up to 5 letters and 2
//     above, a swap counting one, so "lmap" finds "lamp"). An unknown word
//     is replaced by its best correction and searched as if typed; the
//     reply says so in corrected. The match is every word (or a synonym
//     phrase), the last also as a prefix; quotes, "or" and a leading "-"
//     fall back to websearch_to_tsquery without any of this.
//   - Relevance is a total order, documented on the route: a SKU hit;
//     then a tier (3: the words as a phrase in the name, 2: every word in
//     the name, 1: every word or synonym anywhere, 0: prefix matches only);
//     then ts_rank (the name weighs 1, the description 0.4; the exact
//     words' tsquery for tiers above 0); then units sold (products
//     .units_sold, moved by a trigger when a reservation becomes committed
//     or returned); then the average rating; then the id. Pages are
//     keyset on that whole key (the cursor carries it), so no product is
//     skipped or repeated between pages. The relevance test set
//     (testdata/relevance.json, TestRelevance) pins the order on both
//     paths below.
//   - Relevance for one word: ranking every match before the LIMIT cost
//     ~13–15 ms for a word in 5% of 100k products. product_search_terms
//     holds, per active product and distinct lexeme, the single-lexeme
//     tsquery and the whole relevance key (tier 3 or 1 from the lexeme's
//     weights, ts_rank, units sold, rating; triggers keep it in step with
//     text, status, sales and reviews). A one-word query the lexicon knows
//     (a corrected typo too), over the public catalogue or a price range,
//     reads its exact matches in order from that table's primary key
//     (0.1 ms for a word in 3,000 products), and only when they do not
//     fill the page its prefix-only matches (tier 0, which come after
//     every exact one) from the ranking query; TestSearchTermsMatchGIN
//     and TestRelevance compare both paths page by page. The price is
//     storage and write cost: ~860k rows for 100k seeded products, and a
//     sale or review rewrites the product's rows' key columns.
//   - Facets (facets.go, pgsearch.go) are counted in one statement over a materialised
//     set of the matches: categories, fixed price buckets, rating
//     thresholds, in stock (the product or a variant), property values of
//     the product and its variants; each is also a filter (category,
//     min_price/max_price, min_rating, in_stock, property=key:value: OR
//     within a key, AND across keys). Their cost grows with the matches
//     (every matching row is visited: ~25 ms for 3,000 matches at 100k
//     products before counting), so they are computed only on request and
//     cached (below).
//   - Caches (searchcache.go): recent public search pages (ids, cursor,
//     total, facets; 5 s) and suggestion lists (10 s) are kept in process;
//     every product or category change of this instance clears them, and
//     an answer computed across a change is not stored (a generation
//     counter), so a shopper or seller of this instance sees their change
//     at once and other instances within the TTL (as the gateway's own 5 s
//     cache of anonymous searches). A seller's own listing is never
//     cached. Documents always come from the document cache.
//   - Suggestions (suggest.go, pgsearch.go): up to 3 categories whose name has words
//     starting with the words typed, then distinct product names: those
//     starting with the text typed (the folded-name index, in order), then
//     those whose name matches every word (the last as a prefix, from 3
//     letters), most sold first; at most 200 candidates per branch, so a
//     one-letter prefix costs no more than a rare word.
//   - Each sort has a partial index over active products; pages are keyset
//     (cursor = base64url JSON of the sort key and id, valid only for its
//     sort). total=true runs a separate count with the same filters.
//     Queries with q are planned for their actual words each time (pgx
//     QueryExecModeExec): under the generic plan of a cached statement the
//     tsquery ran once per matching row and the planner guessed the
//     word's frequency.
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
