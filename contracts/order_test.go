package contracts_test

import (
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
)

// TestCheckIdempotencyKey: the one Idempotency-Key rule the gateway and
// the order service both apply, on a string and on header bytes alike.
func TestCheckIdempotencyKey(t *testing.T) {
	for _, tc := range []struct {
		name, key string
		want      string // "" for valid, else a part of the message
	}{
		{"a key", "checkout-2026-03-14-0001", ""},
		{"one character", "k", ""},
		{"every visible character", "!~azAZ09-_.:/{}", ""},
		{"the longest", strings.Repeat("k", contracts.MaxIdempotencyKey), ""},
		{"missing", "", "required"},
		{"too long", strings.Repeat("k", contracts.MaxIdempotencyKey+1), "at most 128"},
		{"a space", "two words", "printable ASCII"},
		{"a control character", "key\x7f", "printable ASCII"},
		{"a tab", "key\t1", "printable ASCII"},
		{"not ASCII", "clé", "printable ASCII"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for form, err := range map[string]error{
				"string": contracts.CheckIdempotencyKey(tc.key),
				"bytes":  contracts.CheckIdempotencyKey([]byte(tc.key)),
			} {
				if tc.want == "" {
					if err != nil {
						t.Errorf("%s %q refused: %v", form, tc.key, err)
					}
					continue
				}
				e := contracts.AsError(err)
				if err == nil || e.Code != contracts.CodeInvalidArgument || !strings.Contains(e.Message, tc.want) ||
					e.Details["field"] != contracts.HeaderIdempotencyKey {
					t.Errorf("%s %q: %v, want invalid_argument on the header with %q", form, tc.key, err, tc.want)
				}
			}
		})
	}
}

func TestCheckIdempotencyKeyDoesNotAllocate(t *testing.T) {
	key := []byte("checkout-2026-03-14-0001")
	if n := testing.AllocsPerRun(100, func() { _ = contracts.CheckIdempotencyKey(key) }); n != 0 {
		t.Fatalf("a valid key costs %.0f allocations", n)
	}
}
