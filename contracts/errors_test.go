package contracts_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
)

// TestErrorCode: the code of an *Error anywhere in the chain; anything
// else, a bare context deadline included, is internal, as AsError answers.
func TestErrorCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want contracts.Code
	}{
		{"nil", nil, ""},
		{"an Error", contracts.NotFound("order"), contracts.CodeNotFound},
		{"a wrapped Error", fmt.Errorf("load order: %w", contracts.Errorf(contracts.CodeDeadlineExceeded, "late")), contracts.CodeDeadlineExceeded},
		{"a plain error", errors.New("boom"), contracts.CodeInternal},
		{"a bare context deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), contracts.CodeInternal},
	} {
		if got := contracts.ErrorCode(tc.err); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
		if tc.err != nil && contracts.AsError(tc.err).Code != tc.want {
			t.Errorf("%s: AsError says %q, ErrorCode %q", tc.name, contracts.AsError(tc.err).Code, tc.want)
		}
	}
}
