package account

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/opencommerce/opencommerce/contracts"
)

// Input limits.
const (
	maxEmailLen    = 254
	minPasswordLen = 8
	maxPasswordLen = 128
	maxNameLen     = 100
)

// normalizeEmail trims and lower-cases an email and checks its shape.
// Emails are compared case-insensitively everywhere (the database has a
// unique index on lower(email)); we also store them lower-cased.
func normalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", contracts.InvalidArgument("email", "email is required")
	}
	if len(s) > maxEmailLen {
		return "", contracts.InvalidArgument("email", "email must be at most %d characters", maxEmailLen)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", contracts.InvalidArgument("email", "email must look like name@example.com")
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	if at < 1 || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.ContainsAny(s, " \t\r\n\"()<>[]\\,;") {
		return "", contracts.InvalidArgument("email", "email must look like name@example.com")
	}
	return s, nil
}

// commonPasswords are refused outright (compared case-insensitively). The
// list is short on purpose: the strength rule catches most of the rest.
var commonPasswords = map[string]bool{}

func init() {
	for _, p := range strings.Fields(`password password1 password12 password123 passw0rd p@ssw0rd p@ssword
		12345678 123456789 1234567890 11111111 00000000 87654321 12341234 11223344 qwertyui qwerty123
		qwerty12 1q2w3e4r 1q2w3e4r5t qazwsxedc iloveyou iloveyou1 sunshine sunshine1 princess welcome1
		welcome123 letmein1 letmein123 football1 baseball1 superman1 trustno1 monkey123 dragon123
		abc12345 abcd1234 admin123 administrator changeme changeme1 opencommerce secret123 zaq12wsx
		asdfghjk asdf1234 aa123456 computer1 internet1 master123 shadow123 starwars1 whatever1`) {
		commonPasswords[p] = true
	}
}

// checkPassword enforces the password policy: 8..128 characters, at least
// two character classes (lower, upper, digit, other), not a common password
// and not the email itself.
func checkPassword(field, pw, email string) error {
	n := utf8.RuneCountInString(pw)
	if !utf8.ValidString(pw) {
		return contracts.InvalidArgument(field, "password must be valid UTF-8")
	}
	if n < minPasswordLen || n > maxPasswordLen {
		return contracts.InvalidArgument(field, "password must be %d to %d characters long", minPasswordLen, maxPasswordLen)
	}
	var lower, upper, digit, other int
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = 1
		case unicode.IsUpper(r):
			upper = 1
		case unicode.IsDigit(r):
			digit = 1
		default:
			other = 1
		}
	}
	if lower+upper+digit+other < 2 {
		return contracts.InvalidArgument(field, "password must mix at least two kinds of characters (lower case, upper case, digits, symbols)")
	}
	lp := strings.ToLower(pw)
	if commonPasswords[lp] {
		return contracts.InvalidArgument(field, "password is too common; choose another")
	}
	if email != "" && (lp == strings.ToLower(email) || lp == strings.ToLower(email[:max(0, strings.IndexByte(email, '@'))])) {
		return contracts.InvalidArgument(field, "password must not be your email")
	}
	return nil
}

// cleanText trims s and checks it is 1..maxLen characters (minLen 0 allows
// empty) of printable text without control characters.
func cleanText(field, s string, minLen, maxLen int) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", contracts.InvalidArgument(field, "%s must be valid UTF-8", field)
	}
	n := utf8.RuneCountInString(s)
	if n < minLen {
		if minLen == 1 {
			return "", contracts.InvalidArgument(field, "%s is required", field)
		}
		return "", contracts.InvalidArgument(field, "%s must be at least %d characters", field, minLen)
	}
	if n > maxLen {
		return "", contracts.InvalidArgument(field, "%s must be at most %d characters", field, maxLen)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", contracts.InvalidArgument(field, "%s must not contain control characters", field)
		}
	}
	return s, nil
}

// normalizePhone accepts an E.164-like number ("+1 (555) 123-4567") and
// returns it as "+" and 7..15 digits; "" stays "" (no phone).
func normalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > 32 {
		return "", contracts.InvalidArgument("phone", "phone must be an international number like +15551234567")
	}
	var b strings.Builder
	b.WriteByte('+')
	for i, r := range s {
		switch {
		case r == '+' && i == 0:
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return "", contracts.InvalidArgument("phone", "phone must be an international number like +15551234567")
		}
	}
	out := b.String()
	digits := len(out) - 1
	if s[0] != '+' || digits < 7 || digits > 15 || out[1] == '0' {
		return "", contracts.InvalidArgument("phone", "phone must be an international number like +15551234567")
	}
	return out, nil
}

// checkRole accepts the three roles.
func checkRole(field, role string) error {
	switch role {
	case contracts.RoleCustomer, contracts.RoleSeller, contracts.RoleAdmin:
		return nil
	}
	return contracts.InvalidArgument(field, "role must be one of customer, seller, admin")
}

// parseID checks s is a UUID and returns it in canonical form.
func parseID(field, s string) (string, error) {
	if len(s) > 64 {
		return "", contracts.InvalidArgument(field, "%s must be a UUID", field)
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return "", contracts.InvalidArgument(field, "%s must be a UUID", field)
	}
	return u.String(), nil
}

// checkAddress validates and normalizes an address in place.
func checkAddress(a *Address) error {
	var err error
	if a.Line1, err = cleanText("line1", a.Line1, 1, 200); err != nil {
		return err
	}
	if a.Line2, err = cleanText("line2", a.Line2, 0, 200); err != nil {
		return err
	}
	if a.City, err = cleanText("city", a.City, 1, 100); err != nil {
		return err
	}
	if a.State, err = cleanText("state", a.State, 0, 100); err != nil {
		return err
	}
	if a.PostalCode, err = cleanText("postal_code", a.PostalCode, 1, 20); err != nil {
		return err
	}
	for _, r := range a.PostalCode {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == ' ' || r == '-') {
			return contracts.InvalidArgument("postal_code", "postal_code may contain letters, digits, spaces and dashes only")
		}
	}
	c := strings.ToUpper(strings.TrimSpace(a.Country))
	if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return contracts.InvalidArgument("country", "country must be a two-letter ISO 3166-1 code like US")
	}
	a.Country = c
	return nil
}
