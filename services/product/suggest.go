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
	maxSuggestCategory = "3" // categories first, at most this many (SQL text)
)

// suggestSQL: categories whose folded name has a word starting with each
// word typed (first, by length); then distinct product names: names that
// start with the text typed, then names (weight A) matching every word, the
// last as a prefix; the most sold and best rated first within each. Each
// of the two product branches reads at most suggestCandidates rows (an
// index range of the folded names; a GIN match without ordering), so a
// one-letter prefix costs what a rare word does: popularity ranks the
// candidates, not the whole catalogue. $1 the name tsquery, $2 the folded
// text typed, $3 the category patterns, $4 the limit, $5 whether to match
// words inside names (not for a last word of one or two letters, which
// would match most of the catalogue).
const suggestSQL = `
(SELECT 'category', c.name, c.id::text, c.slug, 0 AS o FROM categories c
	WHERE (SELECT bool_and(oc_fold(c.name) ~ p) FROM unnest($3::text[]) p)
	ORDER BY length(c.name), c.name LIMIT ` + maxSuggestCategory + `)
UNION ALL
(SELECT 'product', name, id, slug, o FROM (
	SELECT DISTINCT ON (f) f, name, id, slug, o, units_sold, rating_avg FROM (
		(SELECT oc_fold(name) AS f, name, id::text, slug, 1 AS o, units_sold, rating_avg FROM products
			WHERE status = 'active' AND oc_fold(name) LIKE $2 || '%' ORDER BY oc_fold(name) USING ~<~ LIMIT ` + suggestCandidates + `)
		UNION ALL
		(SELECT oc_fold(name), name, id::text, slug, 2, units_sold, rating_avg FROM products
			WHERE $5 AND status = 'active' AND search @@ to_tsquery('oc_search', $1) LIMIT ` + suggestCandidates + `)
	) c ORDER BY f, o, units_sold DESC, rating_avg DESC, id) x
	ORDER BY o, units_sold DESC, rating_avg DESC, name LIMIT $4)`

// suggestCandidates bounds the rows each product branch of suggestSQL reads.
const suggestCandidates = "200"

// suggestQuery is product.suggest's parsed parameters: the words typed
// (the last maxQueryWords) and how many suggestions to give.
type suggestQuery struct {
	words []string
	limit int
}

// parseSuggest parses product.suggest's parameters q and limit.
func parseSuggest(_ contracts.Actor, p contracts.Params) (suggestQuery, error) {
	text := strings.TrimSpace(p.Get("q"))
	if text == "" || len(text) > 100 {
		return suggestQuery{}, contracts.InvalidArgument("q", "q must be 1 to 100 characters of what was typed")
	}
	q := suggestQuery{limit: maxSuggestions}
	if s := p.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxSuggestions {
			return suggestQuery{}, contracts.InvalidArgument("limit", "limit must be 1 to %d", maxSuggestions)
		}
		q.limit = n
	}
	q.words = splitWords(text)
	if len(q.words) > maxQueryWords {
		q.words = q.words[len(q.words)-maxQueryWords:]
	}
	return q, nil
}

// suggest is product.suggest.
func (c *core) suggest(ctx context.Context, q suggestQuery) (*contracts.SuggestReply, error) {
	words, limit := q.words, q.limit
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
	inside := len([]rune(typed[len(typed)-1])) >= 3 || len(typed) > 1
	rows, err := c.pool.Query(ctx, suggestSQL, pgxExec, strings.Join(terms, " & "), strings.Join(typed, " "), pats, limit, inside)
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
