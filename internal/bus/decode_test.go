package bus_test

import (
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
)

func TestDecode(t *testing.T) {
	type item struct {
		Qty int `json:"qty"`
	}
	type in struct {
		Name  string `json:"name"`
		Items []item `json:"items"`
	}
	for _, tc := range []struct {
		name, body, wantMsg, wantField string
	}{
		{"ok", `{"name":"a","items":[{"qty":1}]}`, "", ""},
		{"empty body", ``, "", ""},
		{"nested wrong type", `{"items":[{"qty":"1"}]}`, `field "items.qty" must be an integer, not string`, "items.qty"},
		{"unknown nested field", `{"items":[{"qty":1,"x":2}]}`, `unknown field "x"`, "x"},
		{"trailing", `{} x`, "request body must hold a single JSON value (trailing data after it)", ""},
		{"syntax", `{"name" "a"}`, "malformed JSON at byte 9: invalid character '\"' after object key", ""},
		{"case-insensitive key", `{"NAME":"a"}`, `unknown field "NAME" (field names are case-sensitive)`, "NAME"},
		{"case-insensitive nested key", `{"items":[{"Qty":1}]}`, `unknown field "Qty" (field names are case-sensitive)`, "Qty"},
		{"duplicate key", `{"name":"a","name":"b"}`, `duplicate key "name"`, "name"},
		{"duplicate escaped key", `{"name":"a","na\u006de":"b"}`, `duplicate key "name"`, "name"},
		{"duplicate nested key", `{"items":[{"qty":1,"qty":2}]}`, `duplicate key "qty"`, "qty"},
		{"escaped NUL", `{"name":"a\u0000b"}`, `field "name" contains a NUL character (\u0000)`, "name"},
		{"bidi override", "{\"name\":\"a\u202eb\"}", `field "name" contains the bidirectional control character U+202e`, "name"},
		{"escaped bidi isolate", `{"name":"a\u2066b"}`, `field "name" contains the bidirectional control character U+2066`, "name"},
		{"invalid UTF-8", "{\"name\":\"a\xffb\"}", "request body is not valid UTF-8", ""},
		{"NUL in nested string", `{"items":[],"name":"\u0000"}`, `field "name" contains a NUL character (\u0000)`, "name"},
		{"lone high surrogate", `{"name":"a\ud800b"}`, `field "name" holds a lone UTF-16 surrogate (\ud800), which is not text`, "name"},
		{"lone low surrogate", `{"name":"\udc00"}`, `field "name" holds a lone UTF-16 surrogate (\udc00), which is not text`, "name"},
		{"surrogate pair ok", `{"name":"\ud83d\ude00"}`, "", ""},
		{"plain unicode ok", `{"name":"caf\u00e9 – ü 日本"}`, "", ""},
		{"huge", `"` + string(make([]byte, bus.MaxDecodeBytes)) + `"`, "request body too large (1048578 bytes, limit 1048576)", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v in
			err := bus.Decode(&bus.Request{Body: []byte(tc.body)}, &v)
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			e := contracts.AsError(err)
			if e.Code != contracts.CodeInvalidArgument || e.Message != tc.wantMsg {
				t.Fatalf("got %v, want invalid_argument %q", err, tc.wantMsg)
			}
			if tc.wantField != "" && e.Details["field"] != tc.wantField {
				t.Fatalf("field detail %v, want %q", e.Details["field"], tc.wantField)
			}
		})
	}
}

func TestDecodeEnvelope(t *testing.T) {
	env, err := bus.DecodeEnvelope(&bus.Request{Body: []byte(`{"params":{"id":["p1"]},"body":{"qty":2},"meta":{"idempotency_key":"k"}}`)})
	if err != nil || env.Params.Get("id") != "p1" || env.Meta["idempotency_key"] != "k" || string(env.Body) != `{"qty":2}` {
		t.Fatalf("got %+v, %v", env, err)
	}
	var body struct {
		Qty int `json:"qty"`
	}
	if err := bus.DecodeJSON(env.Body, &body); err != nil || body.Qty != 2 {
		t.Fatalf("body: %+v, %v", body, err)
	}
	if _, err := bus.DecodeEnvelope(&bus.Request{Body: []byte(`{"parms":{}}`)}); contracts.ErrorCode(err) != contracts.CodeInvalidArgument {
		t.Fatalf("misspelt envelope member: %v", err)
	}
}
