package product

import (
	"context"
	"fmt"
	"strings"
	"unicode"
)

// maxQueryWords bounds the words of q that are analysed (the rest are
// ignored, so a pasted paragraph cannot make a query of hundreds of terms).
const maxQueryWords = 10

// match is an analysed search text: the tsqueries of its tiers (see
// rankOrder) as to_tsquery texts over oc_search, the products whose SKU it
// is, and whether the term table can serve it.
type match struct {
	q        string
	advanced bool // web search syntax: websearch_to_tsquery, no prefix/typos/synonyms
	words    []queryWord
	sku      []string // ids of active products whose SKU or a variant's SKU is q
	// mq matches every word (the last as a prefix too) or one of its
	// synonyms; eq every word as typed or a synonym; nq the same in the
	// name; pq the words as a phrase in the name. A typo is replaced by its
	// correction first (correct).
	mq, eq, nq, pq string
	single         bool   // one known word without synonyms: the term table holds its exact matches
	none           bool   // nothing to search for
	corrected      string // q with its typos corrected, when it had any
}

// queryWord is one word of q after analysis.
type queryWord struct {
	word     string   // folded (lower case, no accents), letters and digits only
	known    bool     // in the lexicon
	prefixes bool     // the last word, and some lexicon word starts with it
	synonyms []string // the store's synonyms (phrases)
	fixes    []string // nearest lexicon words of an unknown word, closest first (see correct)
	lexemes  int      // lexemes of the word: 0 for a stop word, which is never corrected
}

// isAdvanced says q uses web search syntax: quotes, "or", a leading "-".
func isAdvanced(q string) bool {
	if strings.ContainsRune(q, '"') {
		return true
	}
	for _, f := range strings.Fields(q) {
		if strings.HasPrefix(f, "-") || strings.EqualFold(f, "or") {
			return true
		}
	}
	return false
}

// splitWords returns the words of s: runs of letters and digits, lower
// case (accents are folded in SQL by oc_fold).
func splitWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// clean keeps the letters and digits of a folded word, so it can be
// written into a to_tsquery text without quoting.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

// analyse looks q up: SKUs, lexicon, synonyms, corrections; and builds the
// tsqueries.
func (c *core) analyse(ctx context.Context, q string) (*match, error) {
	m := &match{q: q, advanced: isAdvanced(q)}
	words := splitWords(q)
	if len(words) > maxQueryWords {
		words = words[:maxQueryWords]
	}
	if m.advanced {
		words = nil
	}
	maybeSKU := !strings.ContainsFunc(q, unicode.IsSpace) && len(q) <= 100
	sku, found, err := c.search.Analyse(ctx, words, maybeSKU, q)
	if err != nil {
		return nil, fmt.Errorf("analyse search: %w", err)
	}
	m.sku = sku
	for _, f := range found {
		w := queryWord{word: clean(f.folded), known: f.known || f.lexemes == 0, prefixes: f.prefixes, lexemes: f.lexemes, synonyms: f.synonyms}
		if w.word == "" {
			continue
		}
		if !w.known && len(f.synonyms) == 0 {
			w.fixes = corrections(w.word, f.near)
		}
		m.words = append(m.words, w)
	}
	m.correct()
	m.build()
	return m, nil
}

// correct replaces each word neither known, nor a known prefix as the last
// word, nor with synonyms by its best correction, which is then searched
// as if typed ("showing results for …"): the nearest lexicon word by edit
// distance, then by trigrams. corrected records the corrected query.
func (m *match) correct() {
	fixed := false
	for i := range m.words {
		w := &m.words[i]
		last := i == len(m.words)-1
		if w.known || (last && w.prefixes) || len(w.synonyms) > 0 || len(w.fixes) == 0 {
			continue
		}
		if f := clean(w.fixes[0]); f != "" {
			w.word, w.known, w.lexemes, fixed = f, true, 1, true // lexicon words are never stop words
		}
	}
	if fixed {
		m.corrected = strings.Join(wordsOf(m.words), " ")
	}
}

// maxFixes is how many corrections of a typo are kept (the best is
// searched).
const maxFixes = 3

// corrections keeps the candidates (nearest by trigrams first) within the
// edit distance a word of its length may have: none up to 2 letters, 1 up
// to 5, 2 above (an edit is a letter dropped, added or replaced, or two
// neighbours swapped), the closest first.
func corrections(word string, candidates []string) []string {
	w := []rune(word)
	limit := 2
	switch {
	case len(w) <= 2:
		return nil
	case len(w) <= 5:
		limit = 1
	}
	var out []string
	for d := 1; d <= limit && len(out) < maxFixes; d++ {
		for _, c := range candidates {
			if len(out) < maxFixes && editDistance(w, []rune(c)) == d {
				out = append(out, c)
			}
		}
	}
	return out
}

// editDistance is the optimal string alignment distance of a and b
// (Levenshtein plus the swap of two neighbours as one edit).
func editDistance(a, b []rune) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// build writes the tsquery texts from the analysed words.
func (m *match) build() {
	if m.advanced {
		return
	}
	if len(m.words) == 0 {
		m.none = len(m.sku) == 0
		return
	}
	var mq, eq, nq, pq []string
	for i, w := range m.words {
		self := w.word
		if i == len(m.words)-1 {
			self += ":*"
		}
		alts, exact, name := []string{self}, []string{w.word}, []string{w.word + ":A"}
		for _, s := range w.synonyms {
			if p := phrase(s, ""); p != "" {
				alts, exact = append(alts, p), append(exact, p)
				name = append(name, phrase(s, ":A"))
			}
		}
		mq = append(mq, "("+strings.Join(alts, " | ")+")")
		eq = append(eq, "("+strings.Join(exact, " | ")+")")
		nq = append(nq, "("+strings.Join(name, " | ")+")")
		pq = append(pq, w.word+":A")
	}
	m.mq, m.eq, m.nq, m.pq = strings.Join(mq, " & "), strings.Join(eq, " & "), strings.Join(nq, " & "), strings.Join(pq, " <-> ")
	w := m.words[0]
	m.single = len(m.words) == 1 && w.known && len(w.synonyms) == 0 && w.lexemes == 1 && len(m.sku) == 0
}

func wordsOf(ws []queryWord) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.word
	}
	return out
}

// phrase is the to_tsquery text of a synonym phrase, each word with
// suffix (":A" for the name only).
func phrase(s, suffix string) string {
	ws := splitWords(s)
	for i := range ws {
		ws[i] = clean(ws[i]) + suffix
	}
	if len(ws) == 0 {
		return ""
	}
	return "(" + strings.Join(ws, " <-> ") + ")"
}
