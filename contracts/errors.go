package contracts

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is an error code carried on the wire (reply header x-status and the
// error body). The set is closed; unknown codes are treated as CodeInternal.
type Code string

// The error codes and, in HTTPStatus, their HTTP statuses.
const (
	CodeInvalidArgument    Code = "invalid_argument"
	CodeUnauthenticated    Code = "unauthenticated"
	CodePermissionDenied   Code = "permission_denied"
	CodeNotFound           Code = "not_found"
	CodeConflict           Code = "conflict"
	CodeFailedPrecondition Code = "failed_precondition"
	CodeResourceExhausted  Code = "resource_exhausted"
	CodeUnavailable        Code = "unavailable"
	CodeDeadlineExceeded   Code = "deadline_exceeded"
	CodeInternal           Code = "internal"
	// CodePayloadTooLarge and CodeMethodNotAllowed are produced by the
	// gateway only (HTTP-level refusals).
	CodePayloadTooLarge     Code = "payload_too_large"
	CodeMethodNotAllowed    Code = "method_not_allowed"
	CodeUnsupportedMedia    Code = "unsupported_media_type"
	CodeNotModified         Code = "not_modified"
	CodeRangeNotSatisfiable Code = "range_not_satisfiable"
)

// Codes lists every code, in a stable order.
var Codes = []Code{
	CodeInvalidArgument, CodeUnauthenticated, CodePermissionDenied, CodeNotFound,
	CodeConflict, CodeFailedPrecondition, CodeResourceExhausted, CodeUnavailable,
	CodeDeadlineExceeded, CodeInternal, CodePayloadTooLarge, CodeMethodNotAllowed,
	CodeUnsupportedMedia, CodeNotModified, CodeRangeNotSatisfiable,
}

var codeStatus = map[Code]int{
	CodeInvalidArgument:     http.StatusBadRequest,
	CodeUnauthenticated:     http.StatusUnauthorized,
	CodePermissionDenied:    http.StatusForbidden,
	CodeNotFound:            http.StatusNotFound,
	CodeConflict:            http.StatusConflict,
	CodeFailedPrecondition:  http.StatusConflict,
	CodeResourceExhausted:   http.StatusTooManyRequests,
	CodeUnavailable:         http.StatusServiceUnavailable,
	CodeDeadlineExceeded:    http.StatusGatewayTimeout,
	CodeInternal:            http.StatusInternalServerError,
	CodePayloadTooLarge:     http.StatusRequestEntityTooLarge,
	CodeMethodNotAllowed:    http.StatusMethodNotAllowed,
	CodeUnsupportedMedia:    http.StatusUnsupportedMediaType,
	CodeNotModified:         http.StatusNotModified,
	CodeRangeNotSatisfiable: http.StatusRequestedRangeNotSatisfiable,
}

// HTTPStatus is the HTTP status of a code; unknown codes are 500.
func (c Code) HTTPStatus() int {
	if s, ok := codeStatus[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Known reports whether c is one of Codes.
func (c Code) Known() bool { _, ok := codeStatus[c]; return ok }

// StatusForHeader maps a reply's x-status header to an HTTP status without
// allocating: "ok" is 200.
func StatusForHeader(s string) int {
	if s == StatusOK || s == "" {
		return http.StatusOK
	}
	return Code(s).HTTPStatus()
}

// Error is the one error type that crosses the wire. Its JSON form is the
// "error" member of ErrorBody.
type Error struct {
	Code    Code           `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// ErrorBody is the body of every error reply and every HTTP error.
type ErrorBody struct {
	Error *Error `json:"error"`
}

// Error implements error.
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Errorf builds an *Error with a formatted message meant for a person.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithDetail returns e with one more detail (e is modified and returned).
func (e *Error) WithDetail(key string, value any) *Error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	e.Details[key] = value
	return e
}

// ErrorCode returns the code of err: the code of an *Error in its chain,
// else CodeInternal ("" for nil). A bare context.DeadlineExceeded is
// internal too, as AsError makes it: the RPC and file data-port clients
// report their own timeouts as *Error with CodeDeadlineExceeded, so a bare
// one is a deadline the code did not expect.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// AsError converts any error to an *Error for the wire. Errors that are not
// *Error become internal with a generic message, so no internals leak.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: "internal error"}
}

// Common constructors.

// InvalidArgument reports bad input; field names the offending field.
func InvalidArgument(field, format string, args ...any) *Error {
	e := Errorf(CodeInvalidArgument, format, args...)
	if field != "" {
		e.WithDetail("field", field)
	}
	return e
}

// NotFound reports a missing resource of kind what.
func NotFound(what string) *Error { return Errorf(CodeNotFound, "%s not found", what) }

// PermissionDenied reports an action the actor may not take.
func PermissionDenied(format string, args ...any) *Error {
	return Errorf(CodePermissionDenied, format, args...)
}

// Unauthenticated reports a missing or bad credential.
func Unauthenticated(format string, args ...any) *Error {
	return Errorf(CodeUnauthenticated, format, args...)
}
