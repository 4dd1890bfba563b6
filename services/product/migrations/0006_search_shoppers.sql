-- Search as shoppers expect it (see search.go and doc.go): accents and case
-- folded, typos corrected from a lexicon of the catalogue's words, the last
-- word matched as a prefix, SKUs looked up, synonyms a store sets, facets,
-- suggestions, and popularity (units sold, rating) as the tie-breaker.
--
-- Needs the unaccent and pg_trgm extensions (both ship with PostgreSQL's
-- contrib). CREATE EXTENSION needs a superuser or, on PostgreSQL 13+, the
-- database owner for these trusted extensions; where the service's user
-- has neither, create them beforehand in the schema public.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- oc_fold is the folded form of a text: lower case, accents removed. It is
-- IMMUTABLE (unaccent's own function is only STABLE because its dictionary
-- could change), so indexes and generated columns may use it.
CREATE FUNCTION oc_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS
$$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, t)) $$;

-- oc_search is english with accents removed before stemming.
CREATE TEXT SEARCH CONFIGURATION oc_search (COPY = english);
ALTER TEXT SEARCH CONFIGURATION oc_search
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;

-- Units sold, for ranking: moved by the reservation's status (below).
ALTER TABLE products ADD COLUMN units_sold bigint NOT NULL DEFAULT 0;

-- The search vector again, with oc_search (café = cafe).
DROP TRIGGER products_search_terms_update ON products;
DROP INDEX products_search;
ALTER TABLE products DROP COLUMN search;
ALTER TABLE products ADD COLUMN search tsvector GENERATED ALWAYS AS
    (setweight(to_tsvector('oc_search', name), 'A') ||
     setweight(to_tsvector('oc_search', description), 'B')) STORED;
CREATE INDEX products_search ON products USING gin (search);

-- SKU lookups are case-insensitive.
CREATE INDEX products_sku_folded ON products (lower(sku)) WHERE sku IS NOT NULL;
CREATE INDEX product_variants_sku_folded ON product_variants (lower(sku)) WHERE sku IS NOT NULL;
-- Property filters (key/value objects) on products and variants.
CREATE INDEX products_properties ON products USING gin (properties jsonb_path_ops);
CREATE INDEX product_variants_properties ON product_variants USING gin (properties jsonb_path_ops);
-- Suggestions: product names by folded prefix.
CREATE INDEX products_name_folded ON products (oc_fold(name) text_pattern_ops) WHERE status = 'active';

-- product_search_terms now carries the whole relevance key of a one-word
-- search, so a page is still one backward range scan of its primary key:
-- tier 3 when the word is in the name (weight A), 1 when only in the
-- description; then the rank; then popularity (units sold, rating). The
-- trigger below keeps units_sold and rating_avg in step.
DROP TABLE product_search_terms;
CREATE TABLE product_search_terms (
    term       tsquery NOT NULL,
    tier       smallint NOT NULL,
    rank       real NOT NULL,
    units_sold bigint NOT NULL,
    rating_avg double precision NOT NULL,
    product_id uuid NOT NULL,
    PRIMARY KEY (term, tier, rank, units_sold, rating_avg, product_id)
);
CREATE INDEX product_search_terms_product ON product_search_terms (product_id);

CREATE OR REPLACE FUNCTION product_search_terms_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM product_search_terms WHERE product_id = OLD.id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status = 'active' THEN
        INSERT INTO product_search_terms (term, tier, rank, units_sold, rating_avg, product_id)
        SELECT q, CASE WHEN 'A' = ANY(l.weights) THEN 3 ELSE 1 END, ts_rank(NEW.search, q),
               NEW.units_sold, NEW.rating_avg, NEW.id
        FROM unnest(NEW.search) AS l, lexeme_query(l.lexeme) AS q;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER products_search_terms_update AFTER UPDATE OF name, description, status ON products
    FOR EACH ROW WHEN (OLD.search IS DISTINCT FROM NEW.search OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION product_search_terms_sync();

-- Popularity changes (a sale, a review) rewrite only the key columns.
CREATE FUNCTION product_search_terms_popularity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE product_search_terms SET units_sold = NEW.units_sold, rating_avg = NEW.rating_avg
    WHERE product_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER products_search_terms_popularity AFTER UPDATE OF units_sold, rating_sum, rating_count ON products
    FOR EACH ROW WHEN (OLD.units_sold IS DISTINCT FROM NEW.units_sold OR OLD.rating_avg IS DISTINCT FROM NEW.rating_avg)
    EXECUTE FUNCTION product_search_terms_popularity();

INSERT INTO product_search_terms (term, tier, rank, units_sold, rating_avg, product_id)
SELECT q, CASE WHEN 'A' = ANY(l.weights) THEN 3 ELSE 1 END, ts_rank(p.search, q), p.units_sold, p.rating_avg, p.id
FROM products p, unnest(p.search) AS l, lexeme_query(l.lexeme) AS q
WHERE p.status = 'active';

-- Units sold follow the reservation's status: committed (paid) adds its
-- lines, returned (goods back after a paid cancellation or refund) takes
-- them away again. Kept by a trigger so the inventory code need not know.
CREATE FUNCTION products_units_sold() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sign int;
BEGIN
    IF NEW.status = 'committed' AND OLD.status <> 'committed' THEN
        sign := 1;
    ELSIF NEW.status = 'returned' AND OLD.status = 'committed' THEN
        sign := -1;
    ELSE
        RETURN NULL;
    END IF;
    UPDATE products p SET units_sold = greatest(0, p.units_sold + sign * l.q)
    FROM (SELECT product_id, sum(quantity) AS q FROM reservation_lines
          WHERE order_id = NEW.order_id GROUP BY product_id ORDER BY product_id) l
    WHERE p.id = l.product_id;
    RETURN NULL;
END $$;
CREATE TRIGGER reservations_units_sold AFTER UPDATE OF status ON reservations
    FOR EACH ROW EXECUTE FUNCTION products_units_sold();
UPDATE products p SET units_sold = s.q
FROM (SELECT l.product_id, sum(l.quantity) AS q FROM reservations r JOIN reservation_lines l ON l.order_id = r.order_id
      WHERE r.status = 'committed' GROUP BY l.product_id) s
WHERE p.id = s.product_id;

-- The lexicon of folded words of active products' names and descriptions
-- (and category names), stop words left out: a query word that is not in it is a typo, and its
-- corrections are the nearest lexicon words by trigram similarity. Words
-- are only added (ON CONFLICT DO NOTHING takes no lock on an existing
-- word); a word no product uses any more corrects to a query that simply
-- finds nothing more.
CREATE TABLE search_words (
    word text COLLATE "C" PRIMARY KEY
);
CREATE INDEX search_words_trgm ON search_words USING gist (word gist_trgm_ops);

CREATE FUNCTION search_words_of(t text) RETURNS SETOF text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS
$$ SELECT DISTINCT w FROM regexp_split_to_table(oc_fold(t), '[^[:alnum:]]+') AS w
   WHERE length(w) BETWEEN 2 AND 40 AND to_tsvector('oc_search', w) <> ''::tsvector $$;

CREATE FUNCTION search_words_add(t text) RETURNS void LANGUAGE sql AS
$$ INSERT INTO search_words (word) SELECT w FROM search_words_of(t) AS w ORDER BY w ON CONFLICT DO NOTHING $$;

CREATE FUNCTION products_search_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'active' THEN
        PERFORM search_words_add(NEW.name || ' ' || NEW.description);
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION categories_search_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM search_words_add(NEW.name);
    RETURN NULL;
END $$;
CREATE TRIGGER products_search_words AFTER INSERT OR UPDATE OF name, description, status ON products
    FOR EACH ROW EXECUTE FUNCTION products_search_words();
CREATE TRIGGER categories_search_words AFTER INSERT OR UPDATE OF name ON categories
    FOR EACH ROW EXECUTE FUNCTION categories_search_words();
INSERT INTO search_words (word)
SELECT DISTINCT w FROM products p, search_words_of(p.name || ' ' || p.description) AS w WHERE p.status = 'active'
UNION SELECT w FROM categories c, search_words_of(c.name) AS w
ON CONFLICT DO NOTHING;

-- Synonyms a store sets: a query word (folded) also matches each of its
-- synonyms (words or phrases). One way: tee → t-shirt does not make
-- t-shirt find tee; set both for two ways.
CREATE TABLE search_synonyms (
    term       text PRIMARY KEY,
    synonyms   text[] NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
