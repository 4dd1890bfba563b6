package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/opencommerce/opencommerce/contracts"
)

// MaxDecodeBytes bounds what Decode and DecodeJSON accept.
const MaxDecodeBytes = 1 << 20

// Decode decodes req.Body (JSON) into v the way every service validates
// input: unknown fields, wrong types, malformed JSON, trailing data and
// bodies over MaxDecodeBytes, invalid UTF-8, NUL (\u0000) or bidirectional
// controls (U+202A–U+202E, U+2066–U+2069) in a string, duplicate keys and
// keys that match a field only case-insensitively are a *contracts.Error with code
// invalid_argument and a message a client can act on (details.field names
// the offending field where known). An empty body leaves v untouched.
func Decode(req *Request, v any) error { return DecodeJSON(req.Body, v) }

// DecodeJSON is Decode for any JSON bytes (for example Envelope.Body).
func DecodeJSON(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if len(data) > MaxDecodeBytes {
		return contracts.InvalidArgument("", "request body too large (%d bytes, limit %d)", len(data), MaxDecodeBytes)
	}
	if !utf8.Valid(data) {
		return contracts.InvalidArgument("", "request body is not valid UTF-8")
	}
	if err := checkJSON(data, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return contracts.InvalidArgument("", "request body must hold a single JSON value (trailing data after it)")
	}
	return nil
}

// DecodeEnvelope decodes the gateway's envelope
// {"params":{…},"body":…,"meta":{…}} from req.Body with Decode's rules.
// Decode the client's body with DecodeJSON(env.Body, &v).
func DecodeEnvelope(req *Request) (contracts.Envelope, error) {
	var env contracts.Envelope
	err := DecodeJSON(req.Body, &env)
	return env, err
}

// Call is a gateway-routed request decoded for its handler: who asks, the
// route's path and query parameters (never nil), the request metadata the
// gateway passed on (Idempotency-Key, client IP, user agent; see
// contracts.Meta*), and the client's body decoded into In.
type Call[In any] struct {
	Actor  contracts.Actor
	Params contracts.Params
	Meta   map[string]string
	In     In
}

// NoBody is the In of a method that takes no request body: its body, if a
// client sent one, is not decoded.
type NoBody struct{}

// Routed returns the Handler of a gateway-routed method. It decodes the
// envelope, then the client's body into In with DecodeJSON's rules (an
// invalid body is invalid_argument before fn runs; NoBody skips the body),
// and calls fn with the decoded Call. This is the one place a service's
// routed input is decoded: handlers receive typed values, never bytes.
func Routed[In any](fn func(ctx context.Context, c Call[In]) (any, error)) Handler {
	_, noBody := any((*In)(nil)).(*NoBody)
	return func(ctx context.Context, req *Request) (any, error) {
		env, err := DecodeEnvelope(req)
		if err != nil {
			return nil, err
		}
		c := Call[In]{Actor: req.Actor, Params: env.Params, Meta: env.Meta}
		if c.Params == nil {
			c.Params = contracts.Params{}
		}
		if !noBody {
			if err := DecodeJSON(env.Body, &c.In); err != nil {
				return nil, err
			}
		}
		return fn(ctx, c)
	}
}

// Query returns the Handler of a routed method whose input is its query
// parameters (list and search methods): parse turns them into the method's
// filter Q (an error, typically invalid_argument naming the parameter, is
// the answer), and fn receives the parsed filter.
func Query[Q any](parse func(a contracts.Actor, p contracts.Params) (Q, error), fn func(ctx context.Context, a contracts.Actor, q Q) (any, error)) Handler {
	return Routed(func(ctx context.Context, c Call[NoBody]) (any, error) {
		q, err := parse(c.Actor, c.Params)
		if err != nil {
			return nil, err
		}
		return fn(ctx, c.Actor, q)
	})
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return contracts.InvalidArgument("", "malformed JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return contracts.InvalidArgument("", "request body must be %s, not %s", jsonKind(typ.Type.Kind().String()), typ.Value)
		}
		return contracts.InvalidArgument(field, "field %q must be %s, not %s", field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return contracts.InvalidArgument("", "malformed JSON: unexpected end of input")
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return contracts.InvalidArgument(name, "unknown field %q", name)
	}
	var ce *contracts.Error
	if errors.As(err, &ce) {
		return ce
	}
	return contracts.InvalidArgument("", "invalid request body: %s", strings.TrimPrefix(msg, "json: "))
}

func jsonKind(k string) string {
	switch k {
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	}
	return "a " + k
}
