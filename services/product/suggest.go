package product

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
)

// maxSuggestions bounds the suggestions of one reply (and its limit).
const maxSuggestions = 10

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
	var typed []string
	for i, w := range m.words {
		word := w.word
		if !w.known && !(i == len(m.words)-1 && w.prefixes) && len(w.fixes) > 0 {
			word = clean(w.fixes[0])
		}
		typed = append(typed, word)
	}
	if len(typed) == 0 {
		return out, nil
	}
	// Words inside names are matched from the last word's third letter (or
	// with more than one word): one or two letters would match most of the
	// catalogue.
	inside := len([]rune(typed[len(typed)-1])) >= 3 || len(typed) > 1
	items, err := c.search.Suggest(ctx, typed, limit, inside)
	if err != nil {
		return nil, fmt.Errorf("suggest: %w", err)
	}
	if len(items) > limit {
		items = items[:limit]
	}
	out.Items = append(out.Items, items...)
	c.suggestions.put(key, out, gen, now)
	return out, nil
}
