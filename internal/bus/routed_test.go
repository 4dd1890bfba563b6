package bus_test

import (
	"context"
	"testing"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
)

type routedIn struct {
	Name string `json:"name"`
	Qty  int    `json:"qty"`
}

// call runs h on an envelope body as the gateway sends it.
func call(t *testing.T, h bus.Handler, actor contracts.Actor, envelope string) (any, error) {
	t.Helper()
	return h(context.Background(), &bus.Request{Method: "x.y", Actor: actor, Body: []byte(envelope)})
}

func TestRoutedDecodesTypedBody(t *testing.T) {
	var got bus.Call[routedIn]
	ran := false
	h := bus.Routed(func(_ context.Context, c bus.Call[routedIn]) (any, error) {
		got, ran = c, true
		return "ok", nil
	})
	actor := contracts.Actor{ID: "u1", Role: contracts.RoleSeller}
	reply, err := call(t, h, actor, `{"params":{"id":["p1"]},"body":{"name":"mug","qty":2},"meta":{"idempotency_key":"k1"}}`)
	if err != nil || reply != "ok" || !ran {
		t.Fatalf("reply %v, err %v, ran %v", reply, err, ran)
	}
	if got.In != (routedIn{Name: "mug", Qty: 2}) {
		t.Fatalf("body decoded as %+v", got.In)
	}
	if got.Actor != actor || got.Params.Get("id") != "p1" || got.Meta["idempotency_key"] != "k1" {
		t.Fatalf("call %+v: actor, params or meta not passed on", got)
	}
}

func TestRoutedRefusesInvalidBodyBeforeHandler(t *testing.T) {
	for _, tc := range []struct{ name, envelope, field string }{
		{"unknown field", `{"body":{"name":"mug","colour":"blue"}}`, "colour"},
		{"wrong type", `{"body":{"qty":"2"}}`, "qty"},
		{"duplicate key", `{"body":{"qty":1,"qty":2}}`, "qty"},
		{"trailing data in envelope", `{"body":{}} {}`, ""},
		{"misspelt envelope member", `{"bdy":{}}`, "bdy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := bus.Routed(func(context.Context, bus.Call[routedIn]) (any, error) {
				t.Fatal("handler ran on an invalid body")
				return nil, nil
			})
			_, err := call(t, h, contracts.Actor{}, tc.envelope)
			e := contracts.AsError(err)
			if e.Code != contracts.CodeInvalidArgument {
				t.Fatalf("got %v, want invalid_argument", err)
			}
			if tc.field != "" && e.Details["field"] != tc.field {
				t.Fatalf("field detail %v, want %q", e.Details["field"], tc.field)
			}
		})
	}
}

func TestRoutedNoBodyIgnoresBody(t *testing.T) {
	ran := false
	h := bus.Routed(func(_ context.Context, c bus.Call[bus.NoBody]) (any, error) {
		ran = true
		if c.Params.Get("id") != "p1" {
			t.Errorf("params %v", c.Params)
		}
		return nil, nil
	})
	// A body a typed decoder would refuse (unknown field, wrong type):
	// NoBody must not look at it.
	if _, err := call(t, h, contracts.Actor{}, `{"params":{"id":["p1"]},"body":{"qty":"two","colour":[1]}}`); err != nil || !ran {
		t.Fatalf("err %v, ran %v", err, ran)
	}
}

func TestRoutedParamsNeverNil(t *testing.T) {
	for _, envelope := range []string{``, `{}`, `{"params":null}`} {
		var params contracts.Params
		h := bus.Routed(func(_ context.Context, c bus.Call[routedIn]) (any, error) {
			params = c.Params
			return nil, nil
		})
		if _, err := call(t, h, contracts.Actor{}, envelope); err != nil {
			t.Fatalf("envelope %q: %v", envelope, err)
		}
		if params == nil {
			t.Fatalf("envelope %q: params nil", envelope)
		}
		params["x"] = []string{"y"} // a handler may add to them without panicking
	}
}

func TestQuery(t *testing.T) {
	type filter struct{ limit string }
	parse := func(a contracts.Actor, p contracts.Params) (filter, error) {
		if p.Get("limit") == "bad" {
			return filter{}, contracts.InvalidArgument("limit", "limit must be a number")
		}
		return filter{limit: p.Get("limit") + "/" + a.ID}, nil
	}
	var got filter
	ran := false
	h := bus.Query(parse, func(_ context.Context, a contracts.Actor, q filter) (any, error) {
		got, ran = q, true
		return q.limit, nil
	})

	reply, err := call(t, h, contracts.Actor{ID: "u1"}, `{"params":{"limit":["10"]}}`)
	if err != nil || reply != "10/u1" || got.limit != "10/u1" {
		t.Fatalf("reply %v, err %v, filter %+v", reply, err, got)
	}

	ran = false
	_, err = call(t, h, contracts.Actor{ID: "u1"}, `{"params":{"limit":["bad"]}}`)
	if e := contracts.AsError(err); e.Code != contracts.CodeInvalidArgument || e.Details["field"] != "limit" || e.Message != "limit must be a number" {
		t.Fatalf("parse error not the answer: %v", err)
	}
	if ran {
		t.Fatal("fn ran although parse failed")
	}
}
