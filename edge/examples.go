package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode"

	"github.com/opencommerce/opencommerce/contracts"
)

// Examples. Every operation's JSON request body and success answer, every
// path parameter and every shared error answer carries an example,
// generated from the schemas the document reflects from the contract types
// the route table names, never written per route: a new route gets its
// examples from its types. Values are chosen by the property's name and the
// type it belongs to (ids are UUIDs, the same one for a product's id and
// every product_id; emails, money in minor units, RFC 3339 times, an
// enum's first value), so the examples read like a real exchange and
// validate against their own schemas (TestOpenAPIExamples checks both).

// exampleTime is the moment every example happens at.
const exampleTime = "2026-03-14T09:26:53Z"

// exampleUUID returns a stable UUID (version 7 layout) for an entity
// ("product"), the same wherever that entity is named.
func exampleUUID(entity string) string {
	sum := sha256.Sum256([]byte(entity))
	h := hex.EncodeToString(sum[:])
	return "0195a2c4-" + h[0:4] + "-7" + h[4:7] + "-8" + h[7:10] + "-" + h[10:22]
}

// snake turns a Go type name into the entity it names ("OrderItem" →
// "order_item"; "ListProduct" → "product"; "ProductInput" → "product").
func snake(typeName string) string {
	typeName = strings.TrimPrefix(typeName, "List")
	for _, suffix := range []string{"Input", "Patch", "Request", "Reply", "Update"} {
		if t := strings.TrimSuffix(typeName, suffix); t != "" {
			typeName = t
		}
	}
	var b strings.Builder
	for i, r := range typeName {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// exampler builds examples against the document's component schemas.
type exampler struct {
	schemas map[string]any
}

// value is an example of schema s, a property called name of the type
// parent (a schema name, "" when unknown).
func (e *exampler) value(s any, name, parent string, depth int) any {
	m, ok := s.(map[string]any)
	if !ok {
		// true (any value): the notification's data is an object.
		return e.anyValue(name)
	}
	if ref, ok := m["$ref"].(string); ok {
		n := ref[strings.LastIndexByte(ref, '/')+1:]
		return e.value(e.schemas[n], name, n, depth)
	}
	if enum, ok := m["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	if enum, ok := m["enum"].([]string); ok && len(enum) > 0 {
		return enum[0]
	}
	typ, _ := m["type"].(string)
	if ts, ok := m["type"].([]any); ok && len(ts) > 0 {
		typ, _ = ts[0].(string)
	}
	switch typ {
	case "object":
		props, _ := m["properties"].(map[string]any)
		if len(props) == 0 {
			if ap, ok := m["additionalProperties"].(map[string]any); ok {
				return map[string]any{e.mapKey(name): e.value(ap, strings.TrimSuffix(name, "s"), parent, depth+1)}
			}
			return e.anyValue(name)
		}
		out := make(map[string]any, len(props))
		for _, k := range slices.Sorted(mapKeys(props)) {
			out[k] = e.value(props[k], k, parent, depth+1)
		}
		return out
	case "array":
		if depth > 4 {
			return []any{} // a tree (categories' children) stops here
		}
		item := strings.TrimSuffix(name, "s")
		if strings.HasSuffix(name, "ies") {
			item = strings.TrimSuffix(name, "ies") + "y"
		}
		return []any{e.value(m["items"], item, parent, depth+1)}
	case "integer":
		return exampleInt(name)
	case "number":
		if name == "average" {
			return 4.5
		}
		return 1.5
	case "boolean":
		switch name {
		case "read", "disabled", "is_reply", "refunded":
			return false
		}
		return true
	case "string":
		if m["format"] == "date-time" {
			return exampleTime
		}
		if m["format"] == "binary" {
			return ""
		}
		return exampleString(name, parent)
	}
	return e.anyValue(name)
}

func (e *exampler) anyValue(name string) any {
	if name == "data" {
		return map[string]any{"order_id": exampleUUID("order")}
	}
	return map[string]any{}
}

func (e *exampler) mapKey(name string) string {
	switch name {
	case "reactions", "counts":
		return contracts.ReactionTypes[0]
	}
	return "example"
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func exampleInt(name string) int64 {
	switch name {
	case "amount", "price", "unit_price":
		return 2499 // minor units: 24.99
	case "min_price":
		return 1000
	case "max_price":
		return 5000
	case "quantity", "reserved":
		return 2
	case "stock", "available":
		return 42
	case "change", "adjust":
		return 10
	case "limit":
		return 20
	case "rating":
		return 5
	case "size":
		return 248213
	case "expires_in":
		return 900
	case "width":
		return 1200
	case "height":
		return 800
	case "exp_month":
		return 12
	case "exp_year":
		return 2030
	case "last_event_id":
		return 41
	}
	if strings.HasSuffix(name, "count") {
		return 3
	}
	return 1
}

// exampleString is the example of a string property name of type parent.
func exampleString(name, parent string) string {
	entity := snake(parent)
	switch {
	case name == "id":
		return exampleUUID(entity)
	case strings.HasSuffix(name, "_id"):
		e := strings.TrimSuffix(name, "_id")
		switch e {
		case "parent_user", "actor", "owner", "reviewer":
			e = "user"
		case "image_file":
			e = "file"
		}
		return exampleUUID(e)
	case strings.HasSuffix(name, "_at"):
		return exampleTime
	}
	switch name {
	case "category", "seller", "user":
		return exampleUUID(name) // query parameters naming an entity by id
	case "email":
		return "ada@example.com"
	case "password", "current_password":
		return "correct horse battery staple"
	case "new_password":
		return "a longer passphrase for 2026"
	case "name":
		switch {
		case strings.HasPrefix(entity, "category"):
			return "T-shirts"
		case strings.HasPrefix(entity, "propert"):
			return "colour"
		case strings.HasPrefix(entity, "file"):
			return "t-shirt-front.jpg"
		case strings.Contains(entity, "user"), strings.Contains(entity, "register"), strings.Contains(entity, "profile"),
			strings.Contains(entity, "address"):
			return "Ada Lovelace"
		}
		return "Organic cotton T-shirt"
	case "product_name":
		return "Organic cotton T-shirt"
	case "value":
		return "blue"
	case "slug":
		return "organic-cotton-t-shirt"
	case "sku":
		return "TSHIRT-ORG-BLUE-M"
	case "description":
		return "Soft organic cotton, regular fit."
	case "title":
		if strings.Contains(entity, "notification") {
			return "Your order is paid"
		}
		return "Great fit"
	case "body", "text", "comment":
		if strings.Contains(entity, "notification") {
			return "We have your payment for order " + exampleUUID("order") + "."
		}
		return "Fits well and the colour holds after washing."
	case "status":
		switch {
		case strings.HasPrefix(entity, "order"):
			return contracts.OrderStatusPaid
		case strings.Contains(entity, "payment"):
			return contracts.PaymentStatusSucceeded
		case strings.HasPrefix(entity, "product"):
			return contracts.ProductActive
		case strings.Contains(entity, "shipment"):
			return contracts.OrderStatusShipped
		}
		return contracts.StatusOK
	case "prev_status":
		return contracts.OrderStatusReserved
	case "stock_status":
		return contracts.StockInStock
	case "availability":
		return contracts.WishlistAvailable
	case "currency":
		return contracts.DefaultCurrency
	case "role":
		return contracts.RoleCustomer
	case "phone":
		return "+33 4 72 00 00 00"
	case "line1":
		return "12 rue de la République"
	case "line2":
		return "Apartment 4"
	case "city":
		return "Lyon"
	case "state":
		return "Auvergne-Rhône-Alpes"
	case "postal_code":
		return "69002"
	case "country":
		return "FR"
	case "carrier":
		return "UPS"
	case "tracking_number":
		return "1Z999AA10123456784"
	case "reason", "status_reason":
		return contracts.ReasonCancelledByUser
	case "url", "image_url":
		return "/api/v1/files/" + exampleUUID("file")
	case "thumbnail_url":
		return "/api/v1/files/" + exampleUUID("file") + "/thumbnail"
	case "access_token":
		return "eyJhbGciOiJFZERTQSIsImtpZCI6ImtleS0yMDI2LTAzIiwidHlwIjoiSldUIn0.eyJzdWIiOiIwMTk1YTJjNCIsInJvbGUiOiJjdXN0b21lciJ9.c2lnbmF0dXJl"
	case "refresh_token", "token":
		return "rt_3q2+7w-Zk9dXf0a1b2c3d4e5f6g7h8i9j0kLmN"
	case "token_type":
		return contracts.TokenTypeBearer
	case "kid":
		return "key-2026-03"
	case "kty":
		return "OKP"
	case "crv":
		return "Ed25519"
	case "alg":
		return "EdDSA"
	case "use":
		return "sig"
	case "x":
		return "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	case "cursor", "next_cursor":
		return "eyJpZCI6IjAxOTVhMmM0In0"
	case "sha256":
		return "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	case "content_type":
		return "image/jpeg"
	case "purpose":
		return contracts.Purposes[0]
	case "folder":
		return "products"
	case "type":
		if strings.Contains(entity, "reaction") {
			return contracts.ReactionTypes[0]
		}
		return "notification"
	case "kind":
		if strings.Contains(entity, "attempt") {
			return "charge"
		}
		return contracts.KindOrderPaid
	case "error":
		return "card declined"
	case "problem":
		return contracts.StockOutOfStock
	case "method":
		return "card"
	case "brand":
		return "visa"
	case "last4":
		return "4242"
	case "card_number":
		return "4242424242424242"
	case "cvc":
		return "123"
	case "decline_code":
		return "insufficient_funds"
	case "q":
		return "t-shirt"
	case "sort":
		return contracts.SortNewest
	case "code":
		return string(contracts.CodeNotFound)
	case "message":
		return "no such product"
	case "key":
		if strings.HasPrefix(entity, "propert") {
			return "colour"
		}
		return "checkout-2026-03-14-0001"
	case "idempotency_key":
		return "checkout-2026-03-14-0001"
	}
	return strings.ReplaceAll(name, "_", " ")
}

// headerExamples are the examples of the request headers routes document.
var headerExamples = map[string]string{
	"Idempotency-Key":   "checkout-2026-03-14-0001",
	"Last-Event-ID":     "41",
	"Range":             "bytes=0-1023",
	"If-None-Match":     `"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"`,
	"If-Range":          `"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"`,
	"If-Modified-Since": "Sat, 14 Mar 2026 09:26:53 GMT",
}

// pathEntity names the type a path parameter identifies, as a type name
// ("/api/v1/products/{id}" → "Product"), for exampleString.
func pathEntity(path, param string) string {
	segs := strings.Split(path, "/")
	i := slices.Index(segs, "{"+param+"}")
	if i < 1 {
		return ""
	}
	prev := segs[i-1]
	switch {
	case strings.HasSuffix(prev, "ies"):
		prev = strings.TrimSuffix(prev, "ies") + "y"
	case strings.HasSuffix(prev, "sses"):
		prev = strings.TrimSuffix(prev, "es")
	default:
		prev = strings.TrimSuffix(prev, "s")
	}
	if prev == "" {
		return ""
	}
	return strings.ToUpper(prev[:1]) + prev[1:]
}

// errorExamples are the messages of each error status's example (the
// gateway's own wording where it answers itself).
var errorExamples = map[int]struct {
	code contracts.Code
	msg  string
}{
	http.StatusBadRequest:            {contracts.CodeInvalidArgument, "body is not valid JSON"},
	http.StatusUnauthorized:          {contracts.CodeUnauthenticated, "sign in required"},
	http.StatusForbidden:             {contracts.CodePermissionDenied, "your role may not do this"},
	http.StatusNotFound:              {contracts.CodeNotFound, "no such product"},
	http.StatusMethodNotAllowed:      {contracts.CodeMethodNotAllowed, "method not allowed"},
	http.StatusRequestTimeout:        {contracts.CodeDeadlineExceeded, "request body not received in time"},
	http.StatusConflict:              {contracts.CodeFailedPrecondition, "order is already shipped"},
	http.StatusRequestEntityTooLarge: {contracts.CodePayloadTooLarge, "body larger than 65536 bytes"},
	http.StatusUnsupportedMediaType:  {contracts.CodeUnsupportedMedia, "Content-Type must be application/json"},
	http.StatusTooManyRequests:       {contracts.CodeResourceExhausted, "rate limited"},
	http.StatusInternalServerError:   {contracts.CodeInternal, "internal error"},
	http.StatusServiceUnavailable:    {contracts.CodeUnavailable, "service product is unavailable"},
	http.StatusGatewayTimeout:        {contracts.CodeDeadlineExceeded, "deadline exceeded"},
}

// errorExample is the example body of an error answer with status code.
func errorExample(status int) (map[string]any, error) {
	e, ok := errorExamples[status]
	if !ok {
		return nil, fmt.Errorf("no error example for status %d", status)
	}
	body := map[string]any{"code": string(e.code), "message": e.msg}
	if status == http.StatusTooManyRequests {
		body["details"] = map[string]any{"retry_after": 3}
	}
	return map[string]any{"error": body}, nil
}

// addExamples fills the examples of doc (see the top of this file).
func addExamples(doc map[string]any) error {
	comps := doc["components"].(map[string]any)
	e := &exampler{schemas: comps["schemas"].(map[string]any)}
	for path, ops := range doc["paths"].(map[string]map[string]any) {
		for _, v := range ops {
			op := v.(map[string]any)
			if params, ok := op["parameters"].([]any); ok {
				for _, p := range params {
					pm := p.(map[string]any)
					switch name := pm["name"].(string); pm["in"] {
					case "path":
						pm["example"] = e.value(pm["schema"], name, pathEntity(path, name), 0)
					case "query":
						pm["example"] = e.value(pm["schema"], name, "", 0)
					case "header":
						if ex, ok := headerExamples[name]; ok {
							pm["example"] = ex
						}
					}
				}
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				if mt, ok := rb["content"].(map[string]any)["application/json"].(map[string]any); ok {
					mt["example"] = e.value(mt["schema"], "", "", 0)
				}
			}
			for _, r := range op["responses"].(map[string]any) {
				rm := r.(map[string]any)
				content, _ := rm["content"].(map[string]any)
				if mt, ok := content["application/json"].(map[string]any); ok && mt["example"] == nil {
					mt["example"] = e.value(mt["schema"], "", "", 0)
				}
			}
		}
	}
	for code, er := range errorResponses {
		ex, err := errorExample(code)
		if err != nil {
			return err
		}
		r := comps["responses"].(map[string]any)[er.name].(map[string]any)
		r["content"].(map[string]any)["application/json"].(map[string]any)["example"] = ex
	}
	return nil
}
