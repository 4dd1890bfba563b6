package product

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/google/uuid"
	"github.com/opencommerce/opencommerce/contracts"
	"golang.org/x/text/unicode/norm"
)

// Field limits. Inputs beyond them are invalid_argument, never truncated.
const (
	maxNameLen        = 200
	maxDescriptionLen = 20000
	maxSKULen         = 64
	maxSlugLen        = 120
	maxProperties     = 50
	maxPropertyKey    = 100
	maxPropertyValue  = 1000
	maxVariants       = 100
	maxImages         = 30
	maxReasonLen      = 500
	maxReviewTitle    = 200
	maxReviewBody     = 5000
	maxCommentBody    = 5000
	maxQuantity       = 1_000_000_000
	maxPrice          = 1_000_000_000_00 // one billion in minor units of two-decimal currencies
)

// parseID parses a UUID parameter; a malformed id reads as "not found" for
// path params (what) and as invalid_argument for body fields (field != "").
func parseID(s, what string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil || s == "" {
		return uuid.Nil, contracts.NotFound(what)
	}
	return id, nil
}

func parseBodyID(s, field string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, contracts.InvalidArgument(field, "%s must be a UUID", field)
	}
	return id, nil
}

func newID() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.New()
	}
	return id
}

// slugify turns a name into a URL slug: lower-case ASCII letters and digits
// separated by single dashes; accents are dropped ("Crème brûlée" →
// "creme-brulee"). An all-symbol name gives "item".
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(unicode.ToLower(r))
		default:
			dash = true
		}
		if b.Len() >= maxSlugLen-12 {
			break
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == "" {
		return "item"
	}
	return out
}

// validSlug reports whether s is a slug slugify could produce.
func validSlug(s string) bool {
	return s != "" && len(s) <= maxSlugLen && slugify(s) == s
}

// nextSlug picks base or base-N not in taken (taken holds the existing
// slugs equal to base or of the form base-N).
func nextSlug(base string, taken []string) string {
	if len(taken) == 0 {
		return base
	}
	used := map[string]bool{}
	for _, t := range taken {
		used[t] = true
	}
	if !used[base] {
		return base
	}
	for n := 2; ; n++ {
		c := base + "-" + strconv.Itoa(n)
		if !used[c] {
			return c
		}
	}
}

func validText(field, s string, min, max int) error {
	n := len([]rune(s))
	if n < min {
		if min == 1 {
			return contracts.InvalidArgument(field, "%s is required", field)
		}
		return contracts.InvalidArgument(field, "%s must be at least %d characters", field, min)
	}
	if n > max {
		return contracts.InvalidArgument(field, "%s must be at most %d characters", field, max)
	}
	if strings.ContainsRune(s, 0) {
		return contracts.InvalidArgument(field, "%s must not contain NUL", field)
	}
	return nil
}

func validProperties(field string, props []contracts.Property) error {
	if len(props) > maxProperties {
		return contracts.InvalidArgument(field, "at most %d properties", maxProperties)
	}
	seen := map[string]bool{}
	for _, p := range props {
		if err := validText(field+".key", p.Key, 1, maxPropertyKey); err != nil {
			return err
		}
		if err := validText(field+".value", p.Value, 0, maxPropertyValue); err != nil {
			return err
		}
		if seen[p.Key] {
			return contracts.InvalidArgument(field, "duplicate property key %q", p.Key)
		}
		seen[p.Key] = true
	}
	return nil
}

func validMoney(field string, m *contracts.Money) error {
	if m.Currency == "" {
		m.Currency = contracts.DefaultCurrency
	}
	if m.Currency != contracts.DefaultCurrency {
		return contracts.InvalidArgument(field+".currency", "the catalogue is priced in %s", contracts.DefaultCurrency)
	}
	if m.Amount < 0 || m.Amount > maxPrice {
		return contracts.InvalidArgument(field+".amount", "%s.amount must be between 0 and %d minor units", field, int64(maxPrice))
	}
	return nil
}

func validSKU(field, s string) error {
	if s == "" {
		return nil
	}
	if len(s) > maxSKULen {
		return contracts.InvalidArgument(field, "%s must be at most %d characters", field, maxSKULen)
	}
	for _, r := range s {
		if r <= ' ' || r > '~' {
			return contracts.InvalidArgument(field, "%s must be printable ASCII without spaces", field)
		}
	}
	return nil
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func strOrEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func itoa(n int) string { return strconv.Itoa(n) }
