package edge

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/opencommerce/opencommerce/contracts"
)

// OpenAPI builds the OpenAPI 3.1 document of routes: every path and
// method, path and query parameters, security (bearer JWT) and roles,
// request and response schemas reflected from the contract types the route
// table names, the error schema and every status a route can answer.
// Extensions x-rpc-method, x-roles, x-rate-class and x-cache record the
// table's edge-only facts. The document is deterministic.
func OpenAPI(routes []Route) ([]byte, error) {
	schemas := map[string]any{}
	refl := &jsonschema.Reflector{
		ExpandedStruct:            false,
		AllowAdditionalProperties: true,
		Namer:                     schemaName,
	}
	schemaOf := func(v any) (any, error) {
		if v == nil {
			return map[string]any{"type": "object"}, nil
		}
		s := refl.Reflect(v)
		raw, err := json.Marshal(s)
		if err != nil {
			return nil, err
		}
		raw = []byte(strings.ReplaceAll(string(raw), "#/$defs/", "#/components/schemas/"))
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		if defs, ok := m["$defs"].(map[string]any); ok {
			for k, d := range defs {
				schemas[k] = d
			}
		}
		delete(m, "$defs")
		delete(m, "$schema")
		delete(m, "$id")
		return m, nil
	}
	errSchema, err := schemaOf(contracts.ErrorBody{})
	if err != nil {
		return nil, err
	}
	schemas["ErrorResponse"] = errSchema

	paths := map[string]map[string]any{}
	for _, r := range routes {
		op := map[string]any{
			"operationId": operationID(r),
			"summary":     r.Summary,
			"tags":        []string{tagOf(r)},
		}
		if r.RPC != "" {
			op["x-rpc-method"] = r.RPC
		}
		if r.Custom != "" {
			op["x-custom-handler"] = r.Custom
		}
		rate := r.RateClass
		if rate == "" {
			rate = RateDefault
		}
		op["x-rate-class"] = rate
		if r.Cache != nil {
			op["x-cache"] = true
		}
		var params []any
		for _, name := range pathParams(r.Path) {
			params = append(params, map[string]any{"name": name, "in": "path", "required": true,
				"schema": map[string]any{"type": "string"}})
		}
		for _, q := range r.Query {
			var s any = map[string]any{"type": q.Type}
			if q.Repeated {
				s = map[string]any{"type": "array", "items": map[string]any{"type": q.Type}}
			}
			p := map[string]any{"name": q.Name, "in": "query", "required": false, "schema": s}
			if q.Repeated {
				p["explode"] = true
			}
			if q.Description != "" {
				p["description"] = q.Description
			}
			params = append(params, p)
		}
		if r.IdempotencyKey {
			params = append(params, map[string]any{"name": "Idempotency-Key", "in": "header", "required": true,
				"schema": map[string]any{"type": "string", "maxLength": 255}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if r.Body {
			req, err := schemaOf(r.Request)
			if err != nil {
				return nil, fmt.Errorf("%s %s request: %w", r.Method, r.Path, err)
			}
			op["requestBody"] = map[string]any{"required": true,
				"content": map[string]any{"application/json": map[string]any{"schema": req}}}
		}
		if r.Auth == User {
			op["security"] = []any{map[string]any{"bearer": []string{}}}
			if len(r.Roles) > 0 {
				op["x-roles"] = r.Roles
			}
		} else {
			op["security"] = []any{map[string]any{}, map[string]any{"bearer": []string{}}}
		}
		responses := map[string]any{}
		ok := strconv.Itoa(r.SuccessStatus())
		if r.SuccessStatus() == http.StatusNoContent {
			responses[ok] = map[string]any{"description": "done"}
		} else {
			resp, err := schemaOf(r.Response)
			if err != nil {
				return nil, fmt.Errorf("%s %s response: %w", r.Method, r.Path, err)
			}
			responses[ok] = map[string]any{"description": "success",
				"content": map[string]any{"application/json": map[string]any{"schema": resp}}}
		}
		for _, code := range ErrorStatuses(r) {
			responses[strconv.Itoa(code)] = map[string]any{"description": http.StatusText(code),
				"content": map[string]any{"application/json": map[string]any{
					"schema": map[string]any{"$ref": "#/components/schemas/ErrorResponse"}}}}
		}
		op["responses"] = responses
		full := r.FullPath()
		if paths[full] == nil {
			paths[full] = map[string]any{}
		}
		paths[full][strings.ToLower(r.Method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "OpenCommerce API", "version": "1.0.0",
			"description": "The public API of OpenCommerce, served by the edge gateway. Errors are always " +
				`{"error":{"code","message","details"}}.`},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
			"schemas":         schemas,
		},
	}
	return json.MarshalIndent(doc, "", "  ") // map keys are sorted: deterministic
}

// ErrorStatuses lists the error statuses route r can answer: those the
// gateway itself produces for it, plus those any service method may return.
func ErrorStatuses(r Route) []int {
	codes := []int{http.StatusBadRequest, http.StatusNotFound, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusServiceUnavailable}
	if r.RPC != "" {
		codes = append(codes, http.StatusConflict, http.StatusGatewayTimeout, http.StatusForbidden)
	}
	if r.Auth == User || r.RPC != "" {
		codes = append(codes, http.StatusUnauthorized)
	}
	if len(r.Roles) > 0 {
		codes = append(codes, http.StatusForbidden)
	}
	if r.Body {
		codes = append(codes, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
	}
	slices.Sort(codes)
	return slices.Compact(codes)
}

var paramRE = regexp.MustCompile(`\{([^}]+)\}`)

func pathParams(p string) []string {
	var out []string
	for _, m := range paramRE.FindAllStringSubmatch(p, -1) {
		out = append(out, m[1])
	}
	return out
}

func operationID(r Route) string {
	if r.RPC != "" {
		return r.RPC
	}
	return "gateway." + r.Custom
}

func tagOf(r Route) string {
	if s := r.Service(); s != "" {
		return s
	}
	return "gateway"
}

// schemaName names a reflected type in components/schemas: the Go type
// name, with generic arguments folded in ("List[contracts.Product]" →
// "ListProduct").
func schemaName(t reflect.Type) string {
	n := t.Name()
	i := strings.IndexByte(n, '[')
	if i < 0 {
		return n
	}
	base, args := n[:i], n[i+1:len(n)-1]
	var b strings.Builder
	b.WriteString(base)
	for a := range strings.SplitSeq(args, ",") {
		if j := strings.LastIndexByte(a, '.'); j >= 0 {
			a = a[j+1:]
		}
		b.WriteString(strings.TrimSpace(a))
	}
	return b.String()
}
