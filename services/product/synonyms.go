package product

import (
	"context"
	"fmt"
	"strings"

	"github.com/opencommerce/opencommerce/contracts"
)

// Bounds of the synonym set.
const (
	maxSynonymTerms  = 500
	maxSynonymsEach  = 10
	maxSynonymWords  = 5
	maxSynonymLength = 100
)

// synonyms is product.synonyms.get: the store's set, by term.
func (c *core) synonyms(ctx context.Context, a contracts.Actor) (*contracts.Synonyms, error) {
	if a.Role != contracts.RoleAdmin {
		return nil, contracts.PermissionDenied("only an admin manages search synonyms")
	}
	items, err := c.catalog.Synonyms(ctx)
	if err != nil {
		return nil, err
	}
	if items == nil {
		items = []contracts.Synonym{}
	}
	return &contracts.Synonyms{Items: items}, nil
}

// setSynonyms is product.synonyms.set: it replaces the whole set. Terms
// are stored folded (lower case, no accents), as queries are looked up.
func (c *core) setSynonyms(ctx context.Context, a contracts.Actor, in contracts.Synonyms) (*contracts.Synonyms, error) {
	if a.Role != contracts.RoleAdmin {
		return nil, contracts.PermissionDenied("only an admin manages search synonyms")
	}
	if len(in.Items) > maxSynonymTerms {
		return nil, contracts.InvalidArgument("items", "at most %d synonym terms", maxSynonymTerms)
	}
	seen := map[string]bool{}
	for i, s := range in.Items {
		field := fmt.Sprintf("items[%d]", i)
		term := strings.TrimSpace(s.Term)
		if ws := splitWords(term); len(ws) != 1 || ws[0] != strings.ToLower(term) {
			return nil, contracts.InvalidArgument(field+".term", "a synonym term is one word of letters and digits, such as tee (got %q)", s.Term)
		}
		if seen[strings.ToLower(term)] {
			return nil, contracts.InvalidArgument(field+".term", "the term %q is listed twice", term)
		}
		seen[strings.ToLower(term)] = true
		if len(s.Synonyms) == 0 || len(s.Synonyms) > maxSynonymsEach {
			return nil, contracts.InvalidArgument(field+".synonyms", "give 1 to %d synonyms for %q", maxSynonymsEach, term)
		}
		for j, syn := range s.Synonyms {
			if n := len(splitWords(syn)); n == 0 || n > maxSynonymWords || len(syn) > maxSynonymLength {
				return nil, contracts.InvalidArgument(fmt.Sprintf("%s.synonyms[%d]", field, j),
					"a synonym is 1 to %d words (at most %d characters), such as t-shirt", maxSynonymWords, maxSynonymLength)
			}
		}
		in.Items[i].Term = term
	}
	err := c.catalog.SetSynonyms(ctx, in.Items)
	if err != nil {
		return nil, fmt.Errorf("set synonyms: %w", err)
	}
	c.pages.clear()
	c.facetSets.clear()
	c.suggestions.clear()
	return c.synonyms(ctx, a)
}
