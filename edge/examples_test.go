package edge_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge"
	"github.com/opencommerce/opencommerce/internal/token/tokentest"
)

// exampleValidator validates examples against schemas of the served
// document (their $refs point into its components).
type exampleValidator struct {
	comps any
	n     int
}

func (v *exampleValidator) check(schema, example any) error {
	// Round trips through JSON so numbers are json.Number, as the
	// validator wants.
	raw, err := json.Marshal(map[string]any{"$schema": "https://json-schema.org/draft/2020-12/schema",
		"components": v.comps, "allOf": []any{schema}})
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	v.n++
	name := fmt.Sprintf("example-%d.json", v.n)
	if err := c.AddResource(name, doc); err != nil {
		return err
	}
	s, err := c.Compile(name)
	if err != nil {
		return err
	}
	ex, _ := json.Marshal(example)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(ex))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

var hexRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// realistic fails for values that only repeat a type ("string") or that do
// not look like what their name says.
func realistic(t *testing.T, where string, v any, name string) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			realistic(t, where+"."+k, val, k)
		}
	case []any:
		for _, val := range x {
			realistic(t, where+"[]", val, strings.TrimSuffix(name, "s"))
		}
	case string:
		switch {
		case x == "" || x == "string":
			t.Errorf("%s: %q is not an example", where, x)
		case name == "id" || strings.HasSuffix(name, "_id"):
			if _, err := uuid.Parse(x); err != nil {
				t.Errorf("%s: %q is not a UUID", where, x)
			}
		case strings.HasSuffix(name, "_at"):
			if _, err := time.Parse(time.RFC3339, x); err != nil {
				t.Errorf("%s: %q is not an RFC 3339 time", where, x)
			}
		case name == "email" && !strings.Contains(x, "@"):
			t.Errorf("%s: %q is not an email", where, x)
		case name == "currency" && len(x) != 3:
			t.Errorf("%s: %q is not a currency code", where, x)
		case name == "sha256" && !hexRE.MatchString(x):
			t.Errorf("%s: %q is not a sha256", where, x)
		}
	case float64:
		if name == "amount" && (x != float64(int64(x)) || x <= 0) {
			t.Errorf("%s: money %v is not in minor units", where, x)
		}
	}
}

// TestOpenAPIExamples: in the served document every operation's JSON
// request body and JSON success answer, every path and query parameter and
// every error answer has an example; each validates against its own schema
// and reads like real data (ids are UUIDs, times RFC 3339…); an error
// example's code is one that answers its status.
func TestOpenAPIExamples(t *testing.T) {
	t.Parallel()
	k := tokentest.New(t)
	_, base := start(t, oaConfig(), edge.Deps{RPC: &fakeRPC{keys: k}})
	doc := fetchDoc(t, base)
	v := &exampleValidator{comps: doc.m["components"]}
	// The validator refuses what the schema refuses.
	if v.check(map[string]any{"$ref": "#/components/schemas/Product"}, map[string]any{"id": 5}) == nil ||
		v.check(map[string]any{"$ref": "#/components/schemas/User"}, map[string]any{"id": "u", "created_at": "yesterday"}) == nil {
		t.Fatal("the validator accepts examples that do not match their schema")
	}
	checked := 0
	want := func(where string, holder map[string]any, schema any) {
		t.Helper()
		ex, ok := holder["example"]
		if !ok {
			t.Errorf("%s: no example", where)
			return
		}
		if err := v.check(schema, ex); err != nil {
			t.Errorf("%s: the example does not validate against its schema: %v\nexample: %v", where, err, ex)
		}
		realistic(t, where, ex, "")
		checked++
	}
	ops := 0
	for path, item := range obj(doc.m["paths"]) {
		for method, o := range obj(item) {
			op := obj(o)
			name := strings.ToUpper(method) + " " + path
			ops++
			for _, p := range arr(op["parameters"]) {
				pm := doc.resolve(p)
				if pm["in"] == "path" || pm["in"] == "query" {
					want(fmt.Sprintf("%s parameter %v", name, pm["name"]), pm, pm["schema"])
				}
			}
			if mt := obj(obj(obj(op["requestBody"])["content"])["application/json"]); mt != nil {
				want(name+" request body", mt, mt["schema"])
			}
			for code, r := range obj(op["responses"]) {
				status, _ := strconv.Atoi(code)
				resp := doc.resolve(r)
				mt := obj(obj(resp["content"])["application/json"])
				if status < 300 && status != http.StatusNoContent && status != http.StatusSwitchingProtocols &&
					obj(resp["content"])["application/json"] != nil {
					want(name+" "+code+" answer", mt, mt["schema"])
				}
			}
		}
	}
	for name, r := range obj(obj(doc.m["components"])["responses"]) {
		mt := obj(obj(obj(r)["content"])["application/json"])
		want("error response "+name, mt, mt["schema"])
		var eb struct {
			Error struct{ Code string } `json:"error"`
		}
		raw, _ := json.Marshal(mt["example"])
		_ = json.Unmarshal(raw, &eb)
		desc, _ := obj(r)["description"].(string)
		status := 0
		for s := 400; s < 600; s++ {
			if text := http.StatusText(s); text != "" && strings.HasPrefix(desc, text+".") {
				status = s
			}
		}
		// The gateway answers a request not received in time with 408
		// and deadline_exceeded (which a service's reply maps to 504).
		if status == 0 || contracts.Code(eb.Error.Code).HTTPStatus() != status &&
			!(status == http.StatusRequestTimeout && eb.Error.Code == string(contracts.CodeDeadlineExceeded)) {
			t.Errorf("error response %s (%d): example code %q answers %d", name, status, eb.Error.Code,
				contracts.Code(eb.Error.Code).HTTPStatus())
		}
	}
	// Every route with a JSON body or JSON answer was seen.
	for _, rt := range edge.Routes() {
		op := doc.op(rt.FullPath(), rt.Method)
		if rt.Body && obj(obj(obj(op["requestBody"])["content"])["application/json"])["example"] == nil {
			t.Errorf("%s %s: request body without an example", rt.Method, rt.Path)
		}
	}
	if ops < len(edge.Routes()) || checked < ops {
		t.Errorf("checked %d examples in %d operations", checked, ops)
	}
	// The examples are consistent: one product id everywhere.
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`"product_id": "([^"]+)"`).FindAllStringSubmatch(string(doc.raw), -1) {
		ids[m[1]] = true
	}
	if len(ids) != 1 {
		t.Errorf("product ids in examples: %v", slices.Sorted(mapsKeys(ids)))
	}
}
