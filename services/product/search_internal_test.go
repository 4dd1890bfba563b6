package product

import (
	"context"
	"slices"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// TestSearchTermsMatchGIN pages one-word relevance searches through the
// precomputed product_search_terms and through the GIN index (ranking every
// match) on a seeded catalogue: same ids, same order, same cursors, same
// totals.
func TestSearchTermsMatchGIN(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.PGPool(t, Migrations())
	if err := Seed(ctx, pool, 3000); err != nil {
		t.Fatal(err)
	}
	// Give products different ranks: repeat a word in some descriptions.
	if _, err := pool.Exec(ctx, `UPDATE products SET description = description || ' Wireless, truly wireless.' WHERE id::text < '4'`); err != nil {
		t.Fatal(err)
	}
	c := (&core{cfg: DefaultConfig()}).onPostgres(pool)
	for _, params := range []contracts.Params{
		{"q": {"wireless"}},
		{"q": {"Headphones"}, "limit": {"7"}},
		{"q": {"wireless"}, "min_price": {"20000"}, "max_price": {"60000"}, "limit": {"9"}},
		{"q": {"steel"}, "limit": {"50"}},
	} {
		pages := func(gin bool) (ids, cursors []string, total int64) {
			q, err := parseList(contracts.Actor{}, params)
			if err != nil {
				t.Fatal(err)
			}
			q.gin = gin
			if total, err = c.count(ctx, q); err != nil {
				t.Fatal(err)
			}
			for {
				page, next, err := c.listIDs(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, page...)
				if next == "" {
					return ids, cursors, total
				}
				cursors = append(cursors, next)
				if q.after, err = decodeCursor(next); err != nil {
					t.Fatal(err)
				}
			}
		}
		ids, cursors, total := pages(false)
		gIDs, gCursors, gTotal := pages(true)
		if len(ids) == 0 || len(ids) != int(total) || !slices.Equal(ids, gIDs) || !slices.Equal(cursors, gCursors) || total != gTotal {
			t.Fatalf("%v: terms %d ids (total %d), GIN %d ids (total %d); same order %v, same cursors %v",
				params, len(ids), total, len(gIDs), gTotal, slices.Equal(ids, gIDs), slices.Equal(cursors, gCursors))
		}
		if len(slices.Compact(slices.Sorted(slices.Values(ids)))) != len(ids) {
			t.Fatalf("%v: duplicate ids across pages", params)
		}
	}
}

// TestCorrections: typos within the edit distance a word's length allows
// are corrected, nearest first; farther words are not.
func TestCorrections(t *testing.T) {
	for _, tc := range []struct {
		word       string
		candidates []string
		want       []string
	}{
		{"chiar", []string{"chain", "chair", "cheap"}, []string{"chair"}},
		{"hedphones", []string{"headphones", "headphone", "phones"}, []string{"headphones", "headphone"}},
		{"blutooth", []string{"bluetooth", "tooth"}, []string{"bluetooth"}},
		{"mug", []string{"mugs", "mud", "rug", "hug", "jug"}, []string{"mugs", "mud", "rug"}},
		{"tee", []string{"teeth"}, nil},
		{"ab", []string{"an"}, nil},
		{"xyzzy", []string{"lamp"}, nil},
	} {
		if got := corrections(tc.word, tc.candidates); !slices.Equal(got, tc.want) {
			t.Errorf("corrections(%q, %v) = %v, want %v", tc.word, tc.candidates, got, tc.want)
		}
	}
}
