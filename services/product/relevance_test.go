package product

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// relevanceSet is testdata/relevance.json.
type relevanceSet struct {
	Categories []struct{ Key, Name string } `json:"categories"`
	Synonyms   []contracts.Synonym          `json:"synonyms"`
	Products   []struct {
		Key         string  `json:"key"`
		Category    string  `json:"category"`
		Name        string  `json:"name"`
		Description string  `json:"description"`
		SKU         string  `json:"sku"`
		UnitsSold   int64   `json:"units_sold"`
		Rating      float64 `json:"rating"`
		Properties  []contracts.Property
		Variants    []struct {
			SKU        string               `json:"sku"`
			Properties []contracts.Property `json:"properties"`
		} `json:"variants"`
	} `json:"products"`
	Queries []struct {
		Case  string   `json:"case"`
		Q     string   `json:"q"`
		First []string `json:"first"`
	} `json:"queries"`
}

// loadRelevanceSet writes the set's catalogue and synonyms into a fresh
// database and returns the set, the core and the product keys by id.
func loadRelevanceSet(t *testing.T) (*relevanceSet, *core, map[string]string) {
	t.Helper()
	b, err := os.ReadFile("testdata/relevance.json")
	if err != nil {
		t.Fatal(err)
	}
	var set relevanceSet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatalf("testdata/relevance.json: %v", err)
	}
	ctx := context.Background()
	pool := testenv.PGPool(t, Migrations())
	c := (&core{cfg: DefaultConfig()}).onPostgres(pool)
	cats := map[string]uuid.UUID{}
	for _, cat := range set.Categories {
		id := newID()
		cats[cat.Key] = id
		mustExec(t, pool, `INSERT INTO categories (id, name, slug, path) VALUES ($1, $2, $3, $4)`, id, cat.Name, slugify(cat.Name), []uuid.UUID{id})
	}
	keys := map[string]string{}
	for _, p := range set.Products {
		id := newID()
		keys[id.String()] = p.Key
		var sku *string
		if p.SKU != "" {
			sku = &p.SKU
		}
		props, _ := json.Marshal(append([]contracts.Property{}, p.Properties...))
		const reviews = 10
		mustExec(t, pool, `INSERT INTO products (id, seller_id, category_id, category_path, name, slug, description, price, sku, status,
			properties, stock, rating_sum, rating_count, units_sold)
			VALUES ($1, 'seller', $2, $3, $4, $5, $6, 1000, $7, 'active', $8, 5, $9, $10, $11)`,
			id, cats[p.Category], []uuid.UUID{cats[p.Category]}, p.Name, p.Key, p.Description, sku, props,
			int64(math.Round(p.Rating*reviews)), reviews, p.UnitsSold)
		for j, v := range p.Variants {
			vp, _ := json.Marshal(v.Properties)
			mustExec(t, pool, `INSERT INTO product_variants (id, product_id, position, sku, price, properties, stock) VALUES ($1, $2, $3, $4, 1000, $5, 1)`,
				newID(), id, j, v.SKU, vp)
		}
	}
	if _, err := c.setSynonyms(ctx, contracts.Actor{ID: "admin", Role: contracts.RoleAdmin}, contracts.Synonyms{Items: set.Synonyms}); err != nil {
		t.Fatal(err)
	}
	return &set, c, keys
}

func mustExec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// TestRelevance runs every query of testdata/relevance.json and checks the
// products that must come first, in order, on both relevance paths (the
// term table and ranking every match), one page and page by page.
func TestRelevance(t *testing.T) {
	t.Parallel()
	set, c, keys := loadRelevanceSet(t)
	ctx := context.Background()
	for _, tc := range set.Queries {
		for _, gin := range []bool{false, true} {
			for _, limit := range []string{"20", "1"} {
				q, err := parseList(contracts.Actor{}, contracts.Params{"q": {tc.Q}, "limit": {limit}})
				if err != nil {
					t.Fatal(err)
				}
				q.gin = gin
				var got []string
				for len(got) < 50 {
					ids, next, err := c.listIDs(ctx, q)
					if err != nil {
						t.Fatalf("%s (%q): %v", tc.Case, tc.Q, err)
					}
					for _, id := range ids {
						got = append(got, keys[id])
					}
					if next == "" {
						break
					}
					if q.after, err = decodeCursor(next); err != nil {
						t.Fatal(err)
					}
				}
				if len(got) < len(tc.First) || !slices.Equal(got[:len(tc.First)], tc.First) {
					t.Errorf("%s: q=%q (gin %v, limit %s): got %v, want first %v", tc.Case, tc.Q, gin, limit, got, tc.First)
				}
				if n, err := c.count(ctx, q); err != nil || n != int64(len(got)) {
					t.Errorf("%s: q=%q: total %d (%v), pages held %d", tc.Case, tc.Q, n, err, len(got))
				}
			}
		}
	}
}
