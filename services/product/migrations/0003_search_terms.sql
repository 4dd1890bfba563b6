-- Precomputed relevance for one-word searches (see search.go): one row per
-- (active product, distinct lexeme of its search vector) holding the
-- single-lexeme tsquery and ts_rank(search, that tsquery), exactly the value
-- the GIN path computes for websearch_to_tsquery of that word. A relevance
-- page for a common word is then a backward range scan of the primary key
-- (term, rank, product_id) instead of ranking every match. The trigger keeps
-- it in step inside the writing transaction: inserts, deletes, and updates
-- that change the search vector or the status (stock, price and rating
-- updates do not fire it).
CREATE TABLE product_search_terms (
    term       tsquery NOT NULL,
    rank       real NOT NULL,
    product_id uuid NOT NULL,
    PRIMARY KEY (term, rank, product_id)
);
CREATE INDEX product_search_terms_product ON product_search_terms (product_id);

-- lexeme_query is the tsquery matching exactly one lexeme (quoted, with
-- quotes doubled and backslashes escaped, so any lexeme round-trips).
CREATE FUNCTION lexeme_query(l text) RETURNS tsquery LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS
$$ SELECT ('''' || replace(replace(l, '\', '\\'), '''', '''''') || '''')::tsquery $$;

CREATE FUNCTION product_search_terms_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM product_search_terms WHERE product_id = OLD.id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status = 'active' THEN
        INSERT INTO product_search_terms (term, rank, product_id)
        SELECT q, ts_rank(NEW.search, q), NEW.id
        FROM unnest(tsvector_to_array(NEW.search)) AS l, lexeme_query(l) AS q;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER products_search_terms_insert AFTER INSERT ON products
    FOR EACH ROW EXECUTE FUNCTION product_search_terms_sync();
CREATE TRIGGER products_search_terms_update AFTER UPDATE OF name, description, status ON products
    FOR EACH ROW WHEN (OLD.search IS DISTINCT FROM NEW.search OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION product_search_terms_sync();
CREATE TRIGGER products_search_terms_delete AFTER DELETE ON products
    FOR EACH ROW EXECUTE FUNCTION product_search_terms_sync();

INSERT INTO product_search_terms (term, rank, product_id)
SELECT q, ts_rank(p.search, q), p.id
FROM products p, unnest(tsvector_to_array(p.search)) AS l, lexeme_query(l) AS q
WHERE p.status = 'active';
