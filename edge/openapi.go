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

// serviceCodes are the error codes each service's routed methods may reply
// with, beyond those of the bus itself (busCodes). They follow the services'
// code (services/<name>/...); TestOpenAPIDocumentsWhatTheGatewayAnswers
// scans that code and fails when a service can return a code missing here.
var serviceCodes = map[string][]contracts.Code{
	"user": {contracts.CodeInvalidArgument, contracts.CodeUnauthenticated, contracts.CodePermissionDenied,
		contracts.CodeNotFound, contracts.CodeConflict, contracts.CodeFailedPrecondition, contracts.CodeResourceExhausted,
		contracts.CodeUnavailable},
	"product": {contracts.CodeInvalidArgument, contracts.CodeUnauthenticated, contracts.CodePermissionDenied,
		contracts.CodeNotFound, contracts.CodeConflict, contracts.CodeFailedPrecondition, contracts.CodeDeadlineExceeded,
		contracts.CodeUnavailable},
	"order": {contracts.CodeInvalidArgument, contracts.CodeUnauthenticated, contracts.CodePermissionDenied,
		contracts.CodeNotFound, contracts.CodeConflict, contracts.CodeFailedPrecondition, contracts.CodeResourceExhausted,
		contracts.CodeDeadlineExceeded, contracts.CodeUnavailable, contracts.CodeInternal},
	"notification": {contracts.CodeInvalidArgument, contracts.CodeUnauthenticated, contracts.CodeNotFound},
	// The file service's RPC methods and its data port (uploads and
	// downloads) share one code base.
	"file": {contracts.CodeInvalidArgument, contracts.CodeUnauthenticated, contracts.CodePermissionDenied,
		contracts.CodeNotFound, contracts.CodePayloadTooLarge, contracts.CodeUnsupportedMedia, contracts.CodeDeadlineExceeded,
		contracts.CodeUnavailable, contracts.CodeInternal},
}

// busCodes can answer any RPC: an envelope the server cannot decode
// (invalid_argument), a method it does not serve (not_found), a handler
// past its deadline or failing (deadline_exceeded, internal), and the
// transport (unavailable, deadline_exceeded).
var busCodes = []contracts.Code{contracts.CodeInvalidArgument, contracts.CodeNotFound, contracts.CodeDeadlineExceeded,
	contracts.CodeInternal, contracts.CodeUnavailable}

// limited reports whether the rate limiter applies to r (the key set, this
// document and its reference page are not limited; health is served before
// any check).
func limited(r Route) bool {
	return r.Custom != CustomHealth && r.Custom != CustomJWKS && r.Custom != CustomOpenAPI && r.Custom != CustomDocs
}

// isFileBytes reports whether r streams a file's bytes from the file service.
func isFileBytes(r Route) bool { return r.Custom == CustomDownload || r.Custom == CustomThumbnail }

// ErrorStatuses lists the error statuses (4xx, 5xx) route r can answer:
// those the gateway itself produces and those of the codes its service (or
// the custom handler behind it) may return. A download's 416 is among them.
func ErrorStatuses(r Route) []int {
	// Every request: a malformed request (400), a wrong method (405), a
	// request or body not received in time (408), a panic (500).
	codes := []int{http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusRequestTimeout,
		http.StatusInternalServerError}
	if r.RPC != "" || r.Custom == CustomUpload {
		// A body over the limit (an RPC route without a body still
		// refuses a large one; the other custom routes never read theirs).
		codes = append(codes, http.StatusRequestEntityTooLarge)
	}
	if r.Custom != CustomHealth {
		// A bad token is refused even where none is needed; maintenance
		// mode, or the key set unreachable while verifying a token.
		codes = append(codes, http.StatusUnauthorized, http.StatusServiceUnavailable)
	}
	if limited(r) {
		codes = append(codes, http.StatusTooManyRequests)
	}
	if r.Auth == User && len(r.Roles) > 0 {
		codes = append(codes, http.StatusForbidden)
	}
	if r.Body {
		codes = append(codes, http.StatusUnsupportedMediaType)
	}
	if isFileBytes(r) {
		codes = append(codes, http.StatusRequestedRangeNotSatisfiable)
	}
	for _, c := range serviceErrors(r) {
		codes = append(codes, c.HTTPStatus())
	}
	slices.Sort(codes)
	return slices.Compact(codes)
}

// serviceErrors are the codes the service behind r may answer with.
func serviceErrors(r Route) []contracts.Code {
	switch {
	case r.RPC != "":
		return append(slices.Clone(busCodes), serviceCodes[r.Service()]...)
	case r.Custom == CustomUpload || isFileBytes(r):
		// The data port's answers, and the client's: no instance or a
		// transport failure (unavailable), no answer in time
		// (deadline_exceeded), a malformed file id (not_found).
		return append([]contracts.Code{contracts.CodeUnavailable, contracts.CodeDeadlineExceeded, contracts.CodeNotFound},
			serviceCodes["file"]...)
	case r.Custom == CustomStream || r.Custom == CustomWebSocket:
		// A bad Last-Event-ID or handshake; the caller's or their address's
		// streams at the cap; no hub, the instance's streams at the cap, NATS.
		return []contracts.Code{contracts.CodeInvalidArgument, contracts.CodeResourceExhausted, contracts.CodeUnavailable}
	case r.Custom == CustomJWKS:
		return []contracts.Code{contracts.CodeUnavailable}
	case r.Custom == CustomUnsubscribe:
		// A missing, forged or cut-short token; the notification service
		// unreachable or late.
		return []contracts.Code{contracts.CodeInvalidArgument, contracts.CodeUnavailable, contracts.CodeDeadlineExceeded}
	}
	return nil
}

// errorResponses names the shared components/responses entry of each
// error status, with what causes it.
var errorResponses = map[int]struct{ name, description string }{
	http.StatusBadRequest: {"BadRequest", "Invalid request: malformed HTTP, a body that is not valid JSON or fails the " +
		"service's checks, a query parameter the route does not declare (the message names it) or a bad value " +
		"of one it does, a path parameter or query value with a NUL byte, invalid UTF-8 or a bidirectional " +
		"override/isolate control (U+202A–U+202E, U+2066–U+2069; the message names the parameter), a JSON body " +
		"with such a string, a duplicate key or a key that matches a field only case-insensitively, a missing or " +
		"malformed Idempotency-Key."},
	http.StatusUnauthorized: {"Unauthorized", "The access token is missing (routes that need sign-in), malformed, " +
		"expired or not verifiable, or its session has ended (log out everywhere, a password or role change, the " +
		"account disabled: sign in again). Public routes refuse a bad token too, so a client learns its token went bad."},
	http.StatusForbidden: {"Forbidden", "The caller's role or ownership does not allow this."},
	http.StatusNotFound:  {"NotFound", "No such resource (or one the caller may not see)."},
	http.StatusMethodNotAllowed: {"MethodNotAllowed",
		"The path exists but not with this method; Allow lists the methods it has."},
	http.StatusRequestTimeout: {"RequestTimeout", "The request or its body was not received in time."},
	http.StatusConflict:       {"Conflict", "The resource's state does not allow this (conflict, failed_precondition)."},
	http.StatusRequestEntityTooLarge: {"PayloadTooLarge", "The body is larger than the route's limit (a route " +
		"without a body refuses a large one too). The connection is closed after the answer."},
	http.StatusUnsupportedMediaType: {"UnsupportedMediaType",
		"The body's Content-Type is not one the route takes (JSON routes: application/json; uploads: the purpose's types)."},
	http.StatusTooManyRequests: {"TooManyRequests", "Rate limited (by the gateway's class of the route, or by the " +
		"service, as sign-in throttling or the upload rate); retry after Retry-After seconds."},
	http.StatusInternalServerError: {"InternalError", "An unexpected failure."},
	http.StatusServiceUnavailable: {"ServiceUnavailable", "Maintenance mode, no healthy instance of the route's " +
		"service, the key set unreachable while verifying a token, session revocations not yet loaded after the " +
		"gateway (re)connected, or the service's own refusal; retry after Retry-After seconds."},
	http.StatusGatewayTimeout: {"GatewayTimeout", "The service did not answer within the route's deadline."},
}

// OpenAPI builds the OpenAPI 3.1 document of routes: every path and
// method (and HEAD of the file byte routes), path, query and header
// parameters, security (bearer JWT) and roles, request and response
// schemas reflected from the contract types the route table names (a
// multipart upload, binary downloads with ranges, the event stream and
// the WebSocket upgrade for the custom routes), the error schema and every
// status a route can answer (shared components/responses). Extensions
// x-rpc-method, x-custom-handler, x-roles, x-rate-class and x-cache record
// the table's edge-only facts. The document is deterministic.
//
// It fails for a route with a JSON body and no Request type, or with a
// success body and no Response type.
func OpenAPI(routes []Route) ([]byte, error) {
	schemas := map[string]any{}
	refl := &jsonschema.Reflector{
		ExpandedStruct:            false,
		AllowAdditionalProperties: true,
		Namer:                     schemaName,
	}
	schemaOf := func(v any) (any, error) {
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
		op, err := operation(r, schemaOf)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.Method, r.Path, err)
		}
		full := r.FullPath()
		if paths[full] == nil {
			paths[full] = map[string]any{}
		}
		paths[full][strings.ToLower(r.Method)] = op
		if isFileBytes(r) && r.Method == http.MethodGet {
			paths[full]["head"] = headOperation(op)
		}
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		// The paths carry the /api/v1 prefix: the server is the gateway
		// that serves this document, whatever its address.
		"servers": []any{map[string]any{"url": "/", "description": "The gateway serving this document " +
			"(make run: http://localhost:8080)."}},
		"tags": tags(),
		"info": map[string]any{"title": "OpenCommerce API", "version": "1.0.0",
			// No licence has been granted: the repository has no LICENSE.
			"license": map[string]any{"name": "Proprietary"},
			"description": "The public API of OpenCommerce, served by the edge gateway. Errors are always " +
				`{"error":{"code","message","details"}} (application/json). Every answer carries X-Request-ID ` +
				"(a valid client X-Request-ID is kept). Rate-limited routes answer RateLimit-Limit, RateLimit-Remaining " +
				"and RateLimit-Reset; 429 and 503 answers carry Retry-After. A route takes exactly the query parameters " +
				"it lists: any other (a misspelt filter, a cache-buster such as _=) is refused with 400 naming it, " +
				"never ignored. Text is refused the same way everywhere (400 invalid_argument): a NUL byte, invalid " +
				"UTF-8 or a bidirectional override/isolate control (U+202A–U+202E, U+2066–U+2069) in a path parameter, " +
				"a query value or a string of a JSON body; in a JSON body also a duplicate key " +
				"and a key that is not exactly a field's name (field names are case-sensitive)."},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
				"accessTokenQuery": map[string]any{"type": "apiKey", "in": "query", "name": "access_token",
					"description": "The access token in the query, for the notification streams only (browsers' " +
						"EventSource and WebSocket cannot send headers)."},
			},
			"schemas":   schemas,
			"headers":   sharedHeaders(),
			"responses": sharedResponses(),
		},
	}
	if err := addExamples(doc); err != nil {
		return nil, err
	}
	// Paths in the table's order (renderers list them in document order:
	// sign-up before user administration); every other map's keys are
	// sorted. Deterministic either way.
	var order []string
	for _, r := range routes {
		if !slices.Contains(order, r.FullPath()) {
			order = append(order, r.FullPath())
		}
	}
	doc["paths"] = orderedPaths{order: order, paths: paths}
	return json.MarshalIndent(doc, "", "  ")
}

// orderedPaths marshals paths in order.
type orderedPaths struct {
	order []string
	paths map[string]map[string]any
}

func (o orderedPaths) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, p := range o.order {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(o.paths[p])
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

func operation(r Route, schemaOf func(any) (any, error)) (map[string]any, error) {
	op := map[string]any{
		"operationId": operationID(r),
		"summary":     r.Summary,
		"description": accessText(r) + " " + errorSummary(r),
		"tags":        []string{tagOf(r)},
	}
	if r.Description != "" {
		op["description"] = r.Description
	}
	if r.RPC != "" {
		op["x-rpc-method"] = r.RPC
	}
	if r.Custom != "" {
		op["x-custom-handler"] = r.Custom
	}
	if limited(r) {
		rate := r.RateClass
		if rate == "" {
			rate = RateDefault
		}
		op["x-rate-class"] = rate
	}
	if r.Cache != nil {
		op["x-cache"] = true
	}

	params := []any{}
	for _, name := range pathParams(r.Path) {
		params = append(params, map[string]any{"name": name, "in": "path", "required": true,
			"schema": map[string]any{"type": "string"}})
	}
	for _, q := range r.Query {
		s := map[string]any{"type": q.Type}
		if len(q.Enum) > 0 {
			s["enum"] = q.Enum
		}
		var schema any = s
		if q.Repeated {
			schema = map[string]any{"type": "array", "items": s}
		}
		p := map[string]any{"name": q.Name, "in": "query", "required": false, "schema": schema}
		if q.Repeated {
			p["explode"] = true
		}
		if q.Description != "" {
			p["description"] = q.Description
		}
		params = append(params, p)
	}
	if r.IdempotencyKey {
		params = append(params, header("Idempotency-Key", true, "string",
			"the same key with the same request replays the first answer; with another request it is a conflict",
			map[string]any{"minLength": 1, "maxLength": contracts.MaxIdempotencyKey, "pattern": "^[!-~]+$"}))
	}
	switch r.Custom {
	case CustomDownload, CustomThumbnail:
		params = append(params,
			header("Range", false, "string", "one byte range (bytes=first-last); several ranges get the whole file", nil),
			header("If-Range", false, "string", "an ETag: the range only if the file still has it", nil),
			header("If-None-Match", false, "string", "an ETag: 304 when the file still has it", nil),
			header("If-Modified-Since", false, "string", "an HTTP date: 304 when not modified since", nil))
	case CustomStream:
		params = append(params, header("Last-Event-ID", false, "string", "resume after this event id", nil))
	case CustomWebSocket:
		params = append(params,
			header("Connection", true, "string", "Upgrade", nil),
			header("Upgrade", true, "string", "websocket", nil),
			header("Sec-WebSocket-Version", true, "string", "13", nil),
			header("Sec-WebSocket-Key", true, "string", "the handshake nonce", nil),
			header("Last-Event-ID", false, "string", "resume after this message id", nil))
	}
	if len(params) > 0 {
		op["parameters"] = params
	}

	switch {
	case r.Body:
		if r.Request == nil {
			return nil, fmt.Errorf("a JSON body without a Request type")
		}
		req, err := schemaOf(r.Request)
		if err != nil {
			return nil, fmt.Errorf("request: %w", err)
		}
		op["requestBody"] = map[string]any{"required": !r.OptionalBody,
			"content": map[string]any{"application/json": map[string]any{"schema": req}}}
	case r.Custom == CustomUpload:
		op["requestBody"] = map[string]any{"required": true,
			"description": "multipart/form-data with the part file (its filename is kept) and purpose (and " +
				"folder), each of which may come in the query instead; or the raw bytes with purpose (folder, name) " +
				"in the query. The body is streamed to the file service: the purpose fixes the accepted types and size.",
			"content": map[string]any{
				"multipart/form-data": map[string]any{"schema": map[string]any{
					"type":     "object",
					"required": []string{"file"},
					"properties": map[string]any{
						"file":    map[string]any{"type": "string", "format": "binary"},
						"purpose": map[string]any{"type": "string", "enum": contracts.Purposes},
						"folder":  map[string]any{"type": "string", "maxLength": contracts.MaxFolderLen},
					},
				}},
				"application/octet-stream": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}},
			}}
	}

	if r.Auth == User {
		sec := []any{map[string]any{"bearer": []string{}}}
		if r.Custom == CustomStream || r.Custom == CustomWebSocket {
			sec = append(sec, map[string]any{"accessTokenQuery": []string{}})
		}
		op["security"] = sec
		if len(r.Roles) > 0 {
			op["x-roles"] = r.Roles
		}
	} else {
		op["security"] = []any{map[string]any{}, map[string]any{"bearer": []string{}}}
	}

	responses, err := successResponses(r, schemaOf)
	if err != nil {
		return nil, err
	}
	for _, code := range ErrorStatuses(r) {
		key := strconv.Itoa(code)
		if code == http.StatusRequestedRangeNotSatisfiable {
			// http.ServeContent's answer, relayed from the file service.
			responses[key] = map[string]any{"description": "The range does not overlap the file.",
				"headers": map[string]any{"Content-Range": ref("headers", "Content-Range")},
				"content": map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string"}}}}
			continue
		}
		e, ok := errorResponses[code]
		if !ok {
			return nil, fmt.Errorf("no shared response for status %d", code)
		}
		responses[key] = ref("responses", e.name)
	}
	op["responses"] = responses
	return op, nil
}

// successResponses are r's answers that are not errors.
func successResponses(r Route, schemaOf func(any) (any, error)) (map[string]any, error) {
	hdrs := map[string]any{"X-Request-ID": ref("headers", "X-Request-ID")}
	if limited(r) {
		for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
			hdrs[h] = ref("headers", h)
		}
	}
	jsonBody := func(v any) (map[string]any, error) {
		if v == nil {
			return nil, fmt.Errorf("a success body without a Response type")
		}
		s, err := schemaOf(v)
		if err != nil {
			return nil, fmt.Errorf("response: %w", err)
		}
		return map[string]any{"application/json": map[string]any{"schema": s}}, nil
	}
	ok := strconv.Itoa(r.SuccessStatus())
	out := map[string]any{}
	switch r.Custom {
	case CustomDownload, CustomThumbnail:
		file := maps(hdrs, "ETag", "Last-Modified", "Content-Disposition", "Cache-Control", "Accept-Ranges")
		binary := map[string]any{"*/*": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}
		what := "The file's bytes"
		if r.Custom == CustomThumbnail {
			what = "The image's thumbnail"
		}
		out["200"] = map[string]any{"description": what + ", with its own Content-Type (HEAD: headers only).",
			"headers": file, "content": binary}
		out["206"] = map[string]any{"description": "The requested byte range.",
			"headers": maps(file, "Content-Range"), "content": binary}
		out["304"] = map[string]any{"description": "Not modified (If-None-Match or If-Modified-Since).",
			"headers": maps(hdrs, "ETag", "Last-Modified", "Cache-Control")}
		return out, nil
	case CustomStream:
		data, err := schemaOf(r.Response)
		if err != nil {
			return nil, err
		}
		out[ok] = map[string]any{"description": "Server-Sent Events: each notification is an event named " +
			"notification whose id is the stream position (resume with Last-Event-ID) and whose data is the " +
			"notification JSON (x-event-data); comments keep the connection alive; an event close ends it.",
			"headers": hdrs,
			"content": map[string]any{"text/event-stream": map[string]any{"schema": map[string]any{"type": "string"},
				"x-event-data": data}}}
		return out, nil
	case CustomWebSocket:
		msg, err := schemaOf(r.Response)
		if err != nil {
			return nil, err
		}
		out["101"] = map[string]any{"description": "Switched to the WebSocket protocol: one JSON text frame per " +
			"notification (x-websocket-message). A stream that cannot be opened after the upgrade is closed at once " +
			"(1013 try again later; 1008 for a bad Last-Event-ID).", "headers": hdrs, "x-websocket-message": msg}
		return out, nil
	case CustomUnsubscribe:
		page := map[string]any{"text/html": map[string]any{"schema": map[string]any{"type": "string"}}}
		if r.Method == http.MethodGet {
			out[ok] = map[string]any{"description": "A page whose button POSTs to the same link; nothing changes (mail scanners follow links).",
				"headers": hdrs, "content": page}
			return out, nil
		}
		content, err := jsonBody(r.Response)
		if err != nil {
			return nil, err
		}
		content["text/html"] = page["text/html"]
		out[ok] = map[string]any{"description": "Unsubscribed (idempotent): JSON, or a page when the client accepts text/html. " +
			"The body may be RFC 8058's List-Unsubscribe=One-Click form or empty.", "headers": hdrs, "content": content}
		return out, nil
	case CustomOpenAPI:
		out[ok] = map[string]any{"description": "This OpenAPI 3.1 document.", "headers": hdrs,
			"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object",
				"required": []string{"openapi", "info", "paths"},
				"properties": map[string]any{"openapi": map[string]any{"type": "string"},
					"info": map[string]any{"type": "object"}, "paths": map[string]any{"type": "object"}}},
				"example": map[string]any{"openapi": "3.1.0", "info": map[string]any{"title": "OpenCommerce API",
					"version": "1.0.0"}, "paths": map[string]any{}}}}}
		return out, nil
	case CustomDocs:
		out[ok] = map[string]any{"description": "An HTML page rendering this document with Redoc (bundled in the " +
			"gateway; its script is served from the gateway, under a path that changes with its content).",
			"headers": hdrs,
			"content": map[string]any{"text/html": map[string]any{"schema": map[string]any{"type": "string"}}}}
		return out, nil
	}
	if r.SuccessStatus() == http.StatusNoContent {
		out[ok] = map[string]any{"description": "Done.", "headers": hdrs}
		return out, nil
	}
	content, err := jsonBody(r.Response)
	if err != nil {
		return nil, err
	}
	desc := "Success."
	if r.Custom == CustomUpload {
		desc = "Stored; Location is the file's URL."
		hdrs = maps(hdrs, "Location")
	}
	out[ok] = map[string]any{"description": desc, "headers": hdrs, "content": content}
	return out, nil
}

// headOperation is the HEAD twin of a file byte route: the same answers,
// without bodies.
func headOperation(get map[string]any) map[string]any {
	op := map[string]any{}
	for k, v := range get {
		op[k] = v
	}
	op["operationId"] = get["operationId"].(string) + ".head"
	op["summary"] = get["summary"].(string) + " (headers only)"
	responses := map[string]any{}
	for code, v := range get["responses"].(map[string]any) {
		if m, ok := v.(map[string]any); ok && m["content"] != nil {
			c := map[string]any{}
			for k, v := range m {
				if k != "content" {
					c[k] = v
				}
			}
			v = c
		}
		responses[code] = v
	}
	op["responses"] = responses
	return op
}

func ref(kind, name string) map[string]any {
	return map[string]any{"$ref": "#/components/" + kind + "/" + name}
}

// maps copies base and adds references to the shared headers names.
func maps(base map[string]any, names ...string) map[string]any {
	out := make(map[string]any, len(base)+len(names))
	for k, v := range base {
		out[k] = v
	}
	for _, n := range names {
		out[n] = ref("headers", n)
	}
	return out
}

func header(name string, required bool, typ, description string, extra map[string]any) map[string]any {
	s := map[string]any{"type": typ}
	for k, v := range extra {
		s[k] = v
	}
	return map[string]any{"name": name, "in": "header", "required": required, "description": description, "schema": s}
}

func sharedHeaders() map[string]any {
	h := func(typ, description string) map[string]any {
		return map[string]any{"description": description, "schema": map[string]any{"type": typ}}
	}
	return map[string]any{
		"X-Request-ID":        h("string", "The request's id (the client's when valid), also in the logs."),
		"Retry-After":         h("integer", "Seconds to wait before retrying."),
		"RateLimit-Limit":     h("integer", "Requests the route's rate class allows in a burst."),
		"RateLimit-Remaining": h("integer", "Requests left now."),
		"RateLimit-Reset":     h("integer", "Seconds until the class is fully replenished."),
		"Allow":               h("string", "The methods of the path."),
		"WWW-Authenticate":    h("string", `Bearer realm="opencommerce" (error="invalid_token" for a bad token).`),
		"ETag":                h("string", "The file's strong ETag (its quoted sha256)."),
		"Last-Modified":       h("string", "When the file was stored."),
		"Content-Disposition": h("string", "inline (images) or attachment, with the file's name."),
		"Content-Range":       h("string", "The range sent (206), or bytes */size (416)."),
		"Accept-Ranges":       h("string", "bytes"),
		"Cache-Control":       h("string", "public and immutable for public files, private otherwise."),
		"Location":            h("string", "The stored file's URL."),
	}
}

func sharedResponses() map[string]any {
	out := map[string]any{}
	for code, e := range errorResponses {
		hdrs := map[string]any{"X-Request-ID": ref("headers", "X-Request-ID")}
		switch code {
		case http.StatusTooManyRequests:
			hdrs = maps(hdrs, "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
		case http.StatusServiceUnavailable:
			hdrs = maps(hdrs, "Retry-After")
		case http.StatusMethodNotAllowed:
			hdrs = maps(hdrs, "Allow")
		case http.StatusUnauthorized:
			hdrs = maps(hdrs, "WWW-Authenticate")
		}
		out[e.name] = map[string]any{"description": http.StatusText(code) + ". " + e.description, "headers": hdrs,
			"content": map[string]any{"application/json": map[string]any{
				"schema": map[string]any{"$ref": "#/components/schemas/ErrorResponse"}}}}
	}
	return out
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
	if r.Custom == CustomUnsubscribe {
		// One custom handler serves the page (GET) and the action (POST).
		return "gateway." + r.Custom + "." + strings.ToLower(r.Method)
	}
	return "gateway." + r.Custom
}

// tagDescriptions describe the tags operations are grouped by (tagOf).
var tagDescriptions = map[string]string{
	"user":         "Accounts, sign-in and tokens, profiles, addresses, wishlists; user administration.",
	"product":      "The catalogue: categories, products, images, inventory, reviews, comments and reactions.",
	"order":        "The cart, checkout and orders: payment, shipping, delivery, cancellation and refunds.",
	"notification": "In-app notifications, preferences, and their real-time streams (Server-Sent Events, WebSocket).",
	"file":         "Uploads, downloads and thumbnails, and the caller's files.",
	"gateway":      "What the gateway serves itself: health, the token key set, this document and its reference page.",
}

// tagOrder is the order of the tags in the document (and the reference).
var tagOrder = []string{"user", "product", "order", "notification", "file", "gateway"}

func tags() []any {
	out := make([]any, 0, len(tagOrder))
	for _, t := range tagOrder {
		out = append(out, map[string]any{"name": t, "description": tagDescriptions[t]})
	}
	return out
}

func tagOf(r Route) string {
	if s := r.Service(); s != "" {
		return s
	}
	switch r.Custom {
	case CustomUpload, CustomDownload, CustomThumbnail:
		return "file"
	case CustomStream, CustomWebSocket, CustomUnsubscribe:
		return "notification"
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
