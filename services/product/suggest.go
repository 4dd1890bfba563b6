package product

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
)

// Suggestion limits.
const (
	maxSuggestions     = 10
	maxSuggestCategory = 3 // categories first, at most this many
)

// suggestSQL: categories whose folded name has a word starting with each
// word typed, then distinct product names (weight A: the name) matching
// every word, the last as a prefix; a name that starts with the text typed
// first, then the most sold and best rated. $1 the name tsquery, $2 the
// folded text typed, $3 the category patterns, $4 the limit.
const suggestSQL = `
(SELECT 'category', c.name, c.id::text, c.slug, 0 AS o FROM categories c
	WHERE (SELECT bool_and(oc_fold(c.name) ~ p) FROM unnest($3::text[]) p)
	ORDER BY length(c.name), c.name LIMIT ` + "3" /* maxSuggestCategory */ + `)
UNION ALL
(SELECT 'product', name, id::text, slug, 1 FROM (
	SELECT DISTINCT ON (oc_fold(name)) name, id, slug, units_sold, rating_avg FROM products
	WHERE status = 'active' AND search @@ to_tsquery('oc_search', $1)
	ORDER BY oc_fold(name), units_sold DESC, rating_avg DESC, id) x
	ORDER BY oc_fold(name) LIKE $2 || '%' DESC, units_sold DESC, rating_avg DESC, name LIMIT $4)`

// suggest is product.suggest.
func (c *core) suggest(ctx context.Context, p contracts.Params) (*contracts.SuggestReply, error) {
	text := strings.TrimSpace(p.Get("q"))
	if text == "" || len(text) > 100 {
		return nil, contracts.InvalidArgument("q", "q must be 1 to 100 characters of what was typed")
	}
	limit := maxSuggestions
	if s := p.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxSuggestions {
			return nil, contracts.InvalidArgument("limit", "limit must be 1 to %d", maxSuggestions)
		}
		limit = n
	}
	words := splitWords(text)
	if len(words) > maxQueryWords {
		words = words[len(words)-maxQueryWords:]
	}
	out := &contracts.SuggestReply{Items: []contracts.Suggestion{}}
	if len(words) == 0 {
		return out, nil
	}
	key := strings.Join(words, " ") + "\x00" + strconv.Itoa(limit)
	now := time.Now()
	if r, ok := c.suggestions.get(key, suggestTTL, now); ok {
		return r, nil
	}
	gen := c.suggestions.generation()
	m, err := c.analyse(ctx, strings.Join(words, " "))
	if err != nil {
		return nil, err
	}
	// The last word is a prefix; an earlier word, or a last word no
	// catalogue word starts with, is taken as typed or, if unknown, as its
	// nearest correction.
	var terms, pats, typed []string
	for i, w := range m.words {
		word := w.word
		if !w.known && !(i == len(m.words)-1 && w.prefixes) && len(w.fixes) > 0 {
			word = clean(w.fixes[0])
		}
		if i == len(m.words)-1 {
			terms = append(terms, word+":*A")
		} else {
			terms = append(terms, word+":A")
		}
		pats = append(pats, "(^|[^[:alnum:]])"+word)
		typed = append(typed, word)
	}
	if len(terms) == 0 {
		return out, nil
	}
	rows, err := c.pool.Query(ctx, suggestSQL, pgxExec, strings.Join(terms, " & "), strings.Join(typed, " "), pats, limit)
	if err != nil {
		return nil, fmt.Errorf("suggest: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s contracts.Suggestion
		var o int
		if err := rows.Scan(&s.Kind, &s.Text, &s.ID, &s.Slug, &o); err != nil {
			return nil, fmt.Errorf("suggest: %w", err)
		}
		if len(out.Items) < limit {
			out.Items = append(out.Items, s)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("suggest: %w", err)
	}
	c.suggestions.put(key, out, gen, now)
	return out, nil
}
