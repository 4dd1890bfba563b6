package edge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/edge"
	"github.com/opencommerce/opencommerce/edge/stream"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/discovery"
	"github.com/opencommerce/opencommerce/internal/token/tokentest"
)

// The OpenAPI tests read the document the gateway serves, never the
// generator's own helpers: TestOpenAPIAgreesWithRoutes checks it against
// the route table, TestOpenAPIMatchesContracts against the RPC methods'
// contracts (contracts/*.go), and TestOpenAPIDocumentsWhatTheGatewayAnswers
// against what the running gateway answers when its services (a fake RPC,
// a fake file data port, the real stream hub on a fake JetStream) answer
// every code their code can return.

// oaID fills every path parameter (a UUID, so file ids pass the gateway's
// check).
const oaID = "0190c3a4-0000-7000-8000-0000000000aa"

// oaDoc is the served OpenAPI document.
type oaDoc struct {
	raw []byte
	m   map[string]any
}

func fetchDoc(t *testing.T, base string) *oaDoc {
	t.Helper()
	r := do(t, "GET", base+"/api/v1/openapi.json", "")
	if r.Status != 200 {
		t.Fatalf("GET openapi.json: %d", r.Status)
	}
	return parseDoc(t, r.Body)
}

func parseDoc(t testing.TB, raw []byte) *oaDoc {
	d := &oaDoc{raw: raw}
	if err := json.Unmarshal(raw, &d.m); err != nil {
		t.Fatal(err)
	}
	return d
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

func arr(v any) []any { a, _ := v.([]any); return a }

// resolve follows a local $ref ("#/components/responses/NotFound").
func (d *oaDoc) resolve(v any) map[string]any {
	m := obj(v)
	for i := 0; i < 8 && m != nil; i++ {
		r, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		cur := any(d.m)
		for _, part := range strings.Split(strings.TrimPrefix(r, "#/"), "/") {
			cur = obj(cur)[part]
		}
		m = obj(cur)
	}
	return m
}

func (d *oaDoc) op(fullPath, method string) map[string]any {
	return obj(obj(obj(d.m["paths"])[fullPath])[strings.ToLower(method)])
}

// response is the documented answer status of op (resolved), or nil.
func (d *oaDoc) response(op map[string]any, status int) map[string]any {
	v, ok := obj(op["responses"])[strconv.Itoa(status)]
	if !ok {
		return nil
	}
	return d.resolve(v)
}

func (d *oaDoc) statuses(op map[string]any) []int {
	var out []int
	for k := range obj(op["responses"]) {
		n, _ := strconv.Atoi(k)
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// successStatuses are op's documented answers below 300 (the 101 upgrade
// included).
func (d *oaDoc) successStatuses(op map[string]any) []int {
	var out []int
	for _, s := range d.statuses(op) {
		if s < 300 {
			out = append(out, s)
		}
	}
	return out
}

// refName is the components/schemas name a schema refers to, or "".
func refName(schema any) string {
	r, _ := obj(schema)["$ref"].(string)
	return strings.TrimPrefix(r, "#/components/schemas/")
}

func (d *oaDoc) params(op map[string]any, in string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, p := range arr(op["parameters"]) {
		pm := d.resolve(p)
		if pm["in"] == in {
			out[pm["name"].(string)] = pm
		}
	}
	return out
}

func fillPath(p string) string {
	return regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(p, oaID)
}

// oaConfig is the default configuration on a free loopback port.
func oaConfig() edge.Config {
	cfg := edge.Defaults()
	cfg.Addr = "127.0.0.1:0"
	return cfg
}

func isFileBytes(rt edge.Route) bool {
	return rt.Custom == edge.CustomDownload || rt.Custom == edge.CustomThumbnail
}

// TestOpenAPIAgreesWithRoutes fails when a route and the served document
// disagree on paths, methods, parameters, bodies, security or contract
// types, or when the document refers to something it does not define.
func TestOpenAPIAgreesWithRoutes(t *testing.T) {
	t.Parallel()
	k := tokentest.New(t)
	_, base := start(t, oaConfig(), edge.Deps{RPC: &fakeRPC{keys: k}})
	checkAgreesWithRoutes(t, fetchDoc(t, base))
}

// oaTB is the part of testing.TB the checks use, so they can run against
// a recorder too (TestOpenAPIChecksCatchDisagreement).
type oaTB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// oaRecorder records failures; Fatalf ends the goroutine like testing's.
type oaRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *oaRecorder) Helper() {}

func (r *oaRecorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *oaRecorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

// run runs check with r in its own goroutine and returns the failures.
func (r *oaRecorder) run(check func(oaTB)) []string {
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(r)
	}()
	<-done
	return r.msgs
}

func checkAgreesWithRoutes(t oaTB, doc *oaDoc) {
	t.Helper()
	if doc.m["openapi"] != "3.1.0" {
		t.Fatalf("openapi %v", doc.m["openapi"])
	}
	for _, m := range regexp.MustCompile(`"#/components/(\w+)/([^"]+)"`).FindAllStringSubmatch(string(doc.raw), -1) {
		if obj(obj(doc.m["components"])[m[1]])[m[2]] == nil {
			t.Errorf("dangling reference %s/%s", m[1], m[2])
		}
	}
	n := 0
	for _, rt := range edge.Routes() {
		name := rt.Method + " " + rt.Path
		op := doc.op(rt.FullPath(), rt.Method)
		if op == nil {
			t.Errorf("%s missing from the document", name)
			continue
		}
		n++
		if isFileBytes(rt) {
			if doc.op(rt.FullPath(), "HEAD") == nil {
				t.Errorf("%s: HEAD (answered like GET) not documented", name)
			}
			n++
		}
		// Path parameters, in order, required.
		var pathParams []string
		for _, p := range arr(op["parameters"]) {
			pm := doc.resolve(p)
			if pm["in"] == "path" {
				if pm["required"] != true {
					t.Errorf("%s: path parameter %v not required", name, pm["name"])
				}
				pathParams = append(pathParams, pm["name"].(string))
			}
		}
		var want []string
		for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(rt.Path, -1) {
			want = append(want, m[1])
		}
		if !slices.Equal(want, pathParams) {
			t.Errorf("%s: path parameters %v documented as %v", name, want, pathParams)
		}
		// Every query parameter the route declares, with its type.
		query := doc.params(op, "query")
		for _, q := range rt.Query {
			p := query[q.Name]
			if p == nil {
				t.Errorf("%s: query parameter %s not documented", name, q.Name)
				continue
			}
			s := obj(p["schema"])
			if q.Repeated {
				if s["type"] != "array" {
					t.Errorf("%s: repeated query parameter %s documented as %v", name, q.Name, s["type"])
				}
				s = obj(s["items"])
			}
			if s["type"] != q.Type {
				t.Errorf("%s: query parameter %s is %s, documented %v", name, q.Name, q.Type, s["type"])
			}
		}
		if len(query) != len(rt.Query) {
			t.Errorf("%s: %d query parameters documented, the route has %d", name, len(query), len(rt.Query))
		}
		if rt.IdempotencyKey {
			if h := doc.params(op, "header")["Idempotency-Key"]; h == nil || h["required"] != true {
				t.Errorf("%s: required Idempotency-Key header not documented", name)
			}
		}
		// Bodies: the route's contract type, never an open object.
		rb := obj(op["requestBody"])
		switch {
		case rt.Body:
			schema := obj(obj(obj(rb["content"])["application/json"])["schema"])
			if got, want := refName(schema), reflect.TypeOf(rt.Request); rt.Request == nil || got == "" || !strings.HasPrefix(want.Name(), got) {
				t.Errorf("%s: request body schema %v for %v", name, schema, want)
			}
			if rb["required"] != !rt.OptionalBody {
				t.Errorf("%s: request body required %v, optional %v", name, rb["required"], rt.OptionalBody)
			}
		case rt.Custom == edge.CustomUpload:
			if obj(rb["content"])["multipart/form-data"] == nil {
				t.Errorf("%s: multipart/form-data request body not documented", name)
			}
		case rb != nil:
			t.Errorf("%s: request body documented for a route without one", name)
		}
		succ := doc.successStatuses(op)
		if rt.RPC != "" {
			if !slices.Equal(succ, []int{rt.SuccessStatus()}) {
				t.Errorf("%s: success statuses %v documented, the route answers %d", name, succ, rt.SuccessStatus())
			}
			ok := doc.response(op, rt.SuccessStatus())
			schema := obj(obj(obj(ok["content"])["application/json"])["schema"])
			if rt.SuccessStatus() == http.StatusNoContent {
				if ok["content"] != nil {
					t.Errorf("%s: 204 documented with content", name)
				}
			} else if got := refName(schema); rt.Response == nil || got == "" ||
				obj(obj(doc.m["components"])["schemas"])[got] == nil {
				t.Errorf("%s: success schema %v is not a contract type", name, schema)
			}
		}
		// Security and roles.
		anonymous := false
		for _, s := range arr(op["security"]) {
			if len(obj(s)) == 0 {
				anonymous = true
			}
		}
		if anonymous != (rt.Auth == edge.Public) {
			t.Errorf("%s: security %v, auth %v", name, op["security"], rt.Auth)
		}
		var roles []string
		for _, r := range arr(obj(op)["x-roles"]) {
			roles = append(roles, r.(string))
		}
		if !slices.Equal(roles, rt.Roles) {
			t.Errorf("%s: roles %v vs %v", name, roles, rt.Roles)
		}
		if rt.RPC != "" && op["x-rpc-method"] != rt.RPC {
			t.Errorf("%s: x-rpc-method %v", name, op["x-rpc-method"])
		}
	}
	total := 0
	for _, ops := range obj(doc.m["paths"]) {
		total += len(obj(ops))
	}
	if total != n {
		t.Errorf("document has %d operations, the table (with HEAD of file bytes) %d", total, n)
	}
}

// methodContract is what contracts/*.go says of one RPC method in the
// comment of its Method constant: "params id, body ShipRequest → Order (201)".
type methodContract struct {
	params       []string
	body         string // request type name, "" for none
	bodyOptional bool
	meta         []string
	reply        string // "{}" for none, else a type name ("List[Order]")
	status       int    // 0: not stated
}

var (
	reStatus = regexp.MustCompile(`\((\d{3})\)`) // "(201)" in a contract comment
	reParens = regexp.MustCompile(`\([^)]*\)`)
)

// contractsByMethod parses the Method constants of contracts/*.go.
func contractsByMethod(t *testing.T) map[string]methodContract {
	t.Helper()
	paramStructs := map[string]reflect.Type{"ProductListParams": reflect.TypeOf(contracts.ProductListParams{})}
	out := map[string]methodContract{}
	files, _ := filepath.Glob("../contracts/*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		for _, vs := range constSpecs(t, f) {
			if len(vs.Names) != 1 || !strings.HasPrefix(vs.Names[0].Name, "Method") || len(vs.Values) != 1 || vs.Comment == nil {
				continue
			}
			lit, ok := vs.Values[0].(*ast.BasicLit)
			if !ok {
				continue
			}
			method, _ := strconv.Unquote(lit.Value)
			left, right, ok := strings.Cut(strings.TrimSpace(vs.Comment.Text()), "→")
			if !ok {
				continue
			}
			var mc methodContract
			right = strings.TrimSpace(right)
			if m := reStatus.FindStringSubmatch(right); m != nil {
				mc.status, _ = strconv.Atoi(m[1])
			}
			mc.reply = strings.TrimSpace(reParens.ReplaceAllString(right, ""))
			mode := ""
			for _, item := range strings.Split(left, ",") {
				item = strings.TrimSpace(reParens.ReplaceAllString(item, ""))
				for _, m := range []string{"params", "body", "meta"} {
					if rest, ok := strings.CutPrefix(item, m+" "); ok {
						mode, item = m, strings.TrimSpace(rest)
					}
				}
				item, _, _ = strings.Cut(item, "=")
				switch mode {
				case "params":
					if typ, ok := paramStructs[item]; ok {
						for i := range typ.NumField() {
							name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
							mc.params = append(mc.params, name)
						}
					} else {
						mc.params = append(mc.params, strings.TrimSuffix(item, "?"))
					}
				case "body":
					mc.body, mc.bodyOptional = strings.TrimSuffix(item, "?"), strings.HasSuffix(item, "?")
				case "meta":
					mc.meta = append(mc.meta, item)
				}
			}
			out[method] = mc
		}
	}
	return out
}

// TestOpenAPIMatchesContracts checks every documented RPC operation
// against its method's contract: request and reply types, success status,
// and parameters (each one the method reads is a path or a documented
// query parameter, and no other query parameter is documented).
func TestOpenAPIMatchesContracts(t *testing.T) {
	t.Parallel()
	k := tokentest.New(t)
	_, base := start(t, oaConfig(), edge.Deps{RPC: &fakeRPC{keys: k}})
	byMethod := contractsByMethod(t)
	if len(byMethod) < 60 {
		t.Fatalf("parsed only %d method contracts", len(byMethod))
	}
	checkMatchesContracts(t, fetchDoc(t, base), byMethod)
}

func checkMatchesContracts(t oaTB, doc *oaDoc, byMethod map[string]methodContract) {
	t.Helper()
	schemaFor := func(typ string) string { return strings.NewReplacer("[", "", "]", "", " ", "").Replace(typ) }
	seen := 0
	for path, ops := range obj(doc.m["paths"]) {
		for method, o := range obj(ops) {
			op := obj(o)
			rpc, _ := op["x-rpc-method"].(string)
			if rpc == "" {
				continue
			}
			seen++
			name := strings.ToUpper(method) + " " + path
			mc, ok := byMethod[rpc]
			if !ok {
				t.Errorf("%s: RPC method %s has no contract in contracts/", name, rpc)
				continue
			}
			// Success.
			succ := doc.successStatuses(op)
			want := mc.status
			if want == 0 {
				want = 200
			}
			if !slices.Equal(succ, []int{want}) {
				t.Errorf("%s: success %v documented, the contract of %s says %d", name, succ, rpc, want)
				continue
			}
			ok200 := doc.response(op, want)
			schema := obj(obj(obj(ok200["content"])["application/json"])["schema"])
			if mc.reply == "{}" {
				if want != http.StatusNoContent || ok200["content"] != nil {
					t.Errorf("%s: %s replies nothing, documented %d with %v", name, rpc, want, ok200["content"])
				}
			} else if got := refName(schema); got != schemaFor(mc.reply) {
				t.Errorf("%s: reply documented as %q, the contract of %s says %s", name, got, rpc, mc.reply)
			}
			// Request body.
			rb := obj(op["requestBody"])
			if mc.body == "" {
				if rb != nil {
					t.Errorf("%s: a body is documented, %s takes none", name, rpc)
				}
			} else {
				got := refName(obj(obj(obj(rb["content"])["application/json"])["schema"]))
				if got != schemaFor(mc.body) {
					t.Errorf("%s: body documented as %q, the contract of %s says %s", name, got, rpc, mc.body)
				}
				if rb["required"] != !mc.bodyOptional {
					t.Errorf("%s: body required %v, the contract of %s says optional %v", name, rb["required"], rpc, mc.bodyOptional)
				}
			}
			// Parameters.
			pathP, queryP := doc.params(op, "path"), doc.params(op, "query")
			var missing []string
			for _, p := range mc.params {
				if pathP[p] == nil && queryP[p] == nil {
					missing = append(missing, p)
				}
				delete(queryP, p)
			}
			if len(missing) > 0 {
				t.Errorf("%s: %s reads parameters %v the document does not name", name, rpc, missing)
			}
			if len(queryP) > 0 {
				t.Errorf("%s: query parameters %v documented, %s does not read them", name, slices.Collect(mapsKeys(queryP)), rpc)
			}
			for _, m := range mc.meta {
				if m == contracts.MetaIdempotencyKey && doc.params(op, "header")["Idempotency-Key"] == nil {
					t.Errorf("%s: %s needs the Idempotency-Key header; not documented", name, rpc)
				}
			}
		}
	}
	if seen < 60 {
		t.Fatalf("only %d RPC operations in the document", seen)
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// codesUsed lists the error codes the Go code under dirs (recursively,
// tests excluded) can produce: every contracts.CodeX it names and every
// contracts constructor it calls. A name that only compares is counted too
// (a superset is safe for documentation).
func codesUsed(t *testing.T, dirs ...string) []contracts.Code {
	t.Helper()
	consts := codeConstants(t)
	ctor := map[string]contracts.Code{"NotFound": contracts.CodeNotFound, "InvalidArgument": contracts.CodeInvalidArgument,
		"PermissionDenied": contracts.CodePermissionDenied, "Unauthenticated": contracts.CodeUnauthenticated}
	re := regexp.MustCompile(`contracts\.(Code[A-Z]\w*|NotFound|InvalidArgument|PermissionDenied|Unauthenticated)\b`)
	set := map[contracts.Code]bool{}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range re.FindAllStringSubmatch(string(src), -1) {
				if c, ok := ctor[m[1]]; ok {
					set[c] = true
				} else if c, ok := consts[m[1]]; ok {
					set[c] = true
				} else {
					t.Errorf("%s: unknown code name contracts.%s", p, m[1])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var out []contracts.Code
	for c := range set {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// constSpecs parses a Go file (with comments) and returns its constant
// declarations.
func constSpecs(t *testing.T, file string) []*ast.ValueSpec {
	t.Helper()
	af, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var out []*ast.ValueSpec
	for _, decl := range af.Decls {
		if gd, ok := decl.(*ast.GenDecl); ok && gd.Tok == token.CONST {
			for _, spec := range gd.Specs {
				out = append(out, spec.(*ast.ValueSpec))
			}
		}
	}
	return out
}

// codeConstants maps the names of contracts' Code constants to their values.
func codeConstants(t *testing.T) map[string]contracts.Code {
	t.Helper()
	out := map[string]contracts.Code{}
	for _, vs := range constSpecs(t, "../contracts/errors.go") {
		for i, n := range vs.Names {
			if i < len(vs.Values) && strings.HasPrefix(n.Name, "Code") {
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok {
					v, _ := strconv.Unquote(lit.Value)
					out[n.Name] = contracts.Code(v)
				}
			}
		}
	}
	if len(out) != len(contracts.Codes) {
		t.Fatalf("parsed %d code constants, contracts.Codes has %d", len(out), len(contracts.Codes))
	}
	return out
}

// ---- fakes for the drive test ----

// rpcMode is what the fake RPC answers: ok, a reply with an error code, or
// a transport error.
type rpcMode struct {
	code      contracts.Code // reply status; "" is ok
	transport error          // returned by Call
}

// oaDataPort is a file service data port: uploads are stored (201, a File),
// downloads served by http.ServeContent like the real one (ranges,
// conditionals), or every request answered with code.
type oaDataPort struct{ code atomic.Value }

func (p *oaDataPort) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c, _ := p.code.Load().(contracts.Code); c != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(c.HTTPStatus())
		_ = json.NewEncoder(w).Encode(contracts.ErrorBody{Error: contracts.Errorf(c, "fake %s", c)})
		return
	}
	switch {
	case r.Method == "POST" && r.URL.Path == "/upload":
		_, _ = io.Copy(io.Discard, r.Body)
		f := contracts.File{ID: oaID, URL: contracts.FileURL(oaID), Purpose: r.URL.Query().Get("purpose")}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", f.URL)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(f)
	case strings.HasPrefix(r.URL.Path, "/files/"):
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Etag", `"abc"`)
		http.ServeContent(w, r, "", time.Unix(1_700_000_000, 0), strings.NewReader("0123456789"))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// oaPicker hands out the file data port, or nothing when empty.
type oaPicker struct{ url atomic.Value }

func (p *oaPicker) Pick(string) (discovery.Instance, bool) {
	u, _ := p.url.Load().(string)
	if u == "" {
		return discovery.Instance{}, false
	}
	return discovery.Instance{ID: "file-1", Service: "file", DataURL: u}, true
}

// oaJS is a JetStream whose ordered consumers deliver nothing until
// stopped, or fail.
type oaJS struct {
	jetstream.JetStream
	fail atomic.Bool
}

func (j *oaJS) OrderedConsumer(context.Context, string, jetstream.OrderedConsumerConfig) (jetstream.Consumer, error) {
	if j.fail.Load() {
		return nil, errors.New("jetstream down")
	}
	return oaConsumer{}, nil
}

type oaConsumer struct{ jetstream.Consumer }

func (oaConsumer) Messages(...jetstream.PullMessagesOpt) (jetstream.MessagesContext, error) {
	return &oaIter{done: make(chan struct{})}, nil
}

func (oaConsumer) CachedInfo() *jetstream.ConsumerInfo { return nil }

type oaIter struct {
	jetstream.MessagesContext
	once sync.Once
	done chan struct{}
}

func (i *oaIter) Next(...jetstream.NextOpt) (jetstream.Msg, error) {
	<-i.done
	return nil, jetstream.ErrMsgIteratorClosed
}

func (i *oaIter) Stop()  { i.once.Do(func() { close(i.done) }) }
func (i *oaIter) Drain() { i.Stop() }

// ---- the drive test ----

type oaResult struct {
	status int
	ct     string
	body   []byte
}

type oaDriver struct {
	t      oaTB
	doc    *oaDoc
	client *http.Client
	// produced records, per operation, the statuses seen.
	mu       sync.Mutex
	produced map[string]map[int]bool
}

// oaReq is one request of a scenario.
type oaReq struct {
	method, path string // path under APIPrefix, parameters filled
	body         []byte
	hdr          []string
}

func (d *oaDriver) send(base string, r oaReq) oaResult {
	d.t.Helper()
	var rd io.Reader
	if r.body != nil {
		rd = bytes.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, base+edge.APIPrefix+r.path, rd)
	if err != nil {
		d.t.Fatalf("%v", err)
	}
	// A refused body may be left unread: never reuse such a connection.
	req.Close = r.body != nil
	for i := 0; i+1 < len(r.hdr); i += 2 {
		req.Header.Set(r.hdr[i], r.hdr[i+1])
	}
	resp, err := d.client.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	res := oaResult{status: resp.StatusCode, ct: resp.Header.Get("Content-Type")}
	if mt, _, _ := mime.ParseMediaType(res.ct); mt != "text/event-stream" && resp.StatusCode != http.StatusSwitchingProtocols {
		if res.body, err = io.ReadAll(resp.Body); err != nil {
			d.t.Fatalf("%s %s: reading the answer: %v", r.method, r.path, err)
		}
	}
	return res
}

// check sends r to the gateway at base and fails unless the status it
// answers (and its content type) is documented for rt's operation. want,
// when not nil, says which statuses the scenario must produce (so a
// scenario that stopped exercising anything is noticed).
func (d *oaDriver) check(scenario, base string, rt edge.Route, r oaReq, want func(int) bool) int {
	d.t.Helper()
	res := d.send(base, r)
	name := r.method + " " + rt.Path
	if want != nil && !want(res.status) {
		d.t.Errorf("%s [%s]: the scenario answered %d: %s", name, scenario, res.status, res.body)
	}
	// A wrong method is answered for the path: it is the route's
	// operation that documents it.
	opMethod := rt.Method
	if r.method == "HEAD" {
		opMethod = "HEAD"
	}
	op := d.doc.op(rt.FullPath(), opMethod)
	if op == nil {
		d.t.Errorf("%s: no operation in the document", name)
		return res.status
	}
	d.mu.Lock()
	key := opMethod + " " + rt.FullPath()
	if d.produced[key] == nil {
		d.produced[key] = map[int]bool{}
	}
	d.produced[key][res.status] = true
	d.mu.Unlock()
	resp := d.doc.response(op, res.status)
	if resp == nil {
		d.t.Errorf("%s [%s]: answered %d, which the document does not list (it lists %v): %s",
			name, scenario, res.status, d.doc.statuses(op), res.body)
		return res.status
	}
	content := obj(resp["content"])
	if r.method == "HEAD" || res.status == http.StatusSwitchingProtocols || res.status == http.StatusNoContent ||
		res.status == http.StatusNotModified {
		return res.status
	}
	if len(content) == 0 {
		if len(res.body) > 0 {
			d.t.Errorf("%s [%s]: %d documented without content, answered %q", name, scenario, res.status, res.ct)
		}
		return res.status
	}
	mt, _, _ := mime.ParseMediaType(res.ct)
	if content[mt] == nil && content["*/*"] == nil {
		d.t.Errorf("%s [%s]: %d answered as %q, documented as %v", name, scenario, res.status, res.ct, slices.Collect(mapsKeys(content)))
	}
	if res.status >= 400 && mt == "application/json" {
		var eb contracts.ErrorBody
		if err := json.Unmarshal(res.body, &eb); err != nil || eb.Error == nil || eb.Error.Code == "" {
			d.t.Errorf("%s [%s]: %d is not a JSON error: %q", name, scenario, res.status, res.body)
		}
	}
	return res.status
}

func refused(s int) bool { return s >= 400 }

func is(statuses ...int) func(int) bool {
	return func(s int) bool { return slices.Contains(statuses, s) }
}

func multipartUpload() ([]byte, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.WriteField("purpose", contracts.PurposeDocument)
	fw, _ := w.CreateFormFile("file", "a.txt")
	_, _ = fw.Write([]byte("hello"))
	_ = w.Close()
	return b.Bytes(), w.FormDataContentType()
}

// TestOpenAPIDocumentsWhatTheGatewayAnswers drives the real gateway
// through every route: successes, every error code the route's service can
// return (found by scanning the service's code, so a new code fails this
// test until the document lists its status), transport failures, bad and
// missing tokens, wrong roles and methods, oversize and malformed bodies,
// rate limits, unhealthy services, maintenance and a key set outage. Every
// status (and content type) the gateway answers must be documented for the
// operation, and a success must answer the documented success status.
func TestOpenAPIDocumentsWhatTheGatewayAnswers(t *testing.T) {
	t.Parallel()
	d := driveGateway(t, t, nil, nil)
	if testing.Verbose() {
		keys := slices.Sorted(mapsKeys(d.produced))
		for _, key := range keys {
			t.Logf("%s → %v", key, slices.Sorted(func(yield func(int) bool) {
				for s := range d.produced[key] {
					if !yield(s) {
						return
					}
				}
			}))
		}
	}
}

// driveGateway runs the drive test's scenarios, reporting to tb, against
// the served document changed by mutate (nil: as served), for the routes
// only accepts (nil: all).
func driveGateway(t *testing.T, tb oaTB, mutate func(*oaDoc), only func(edge.Route) bool) *oaDriver {
	routes := edge.Routes()
	if only != nil {
		routes = slices.DeleteFunc(routes, func(r edge.Route) bool { return !only(r) })
	}
	const maxBody, routeBody, uploadMax = 32 << 10, 8 << 10, 64 << 10
	baseCfg := func() edge.Config {
		cfg := oaConfig()
		cfg.MaxBody, cfg.DefaultRouteBody, cfg.UploadMaxBody = maxBody, routeBody, uploadMax
		cfg.RateDefault, cfg.RateLogin, cfg.RateSearch, cfg.RateCheckout, cfg.RateUpload = "off", "off", "off", "off", "off"
		return cfg
	}
	k := tokentest.New(t)
	var mode atomic.Pointer[rpcMode]
	mode.Store(&rpcMode{})
	rpc := &fakeRPC{keys: k, reply: func(_ context.Context, c call) (bus.Reply, error) {
		m := mode.Load()
		switch {
		case m.transport != nil:
			return bus.Reply{}, m.transport
		case m.code != "":
			b, _ := json.Marshal(contracts.ErrorBody{Error: contracts.Errorf(m.code, "fake %s", m.code)})
			return bus.Reply{Status: string(m.code), Body: b}, nil
		}
		return bus.Reply{Status: contracts.StatusOK, Body: c.Raw}, nil
	}}
	data := &oaDataPort{}
	dataSrv := httptest.NewServer(data)
	t.Cleanup(dataSrv.Close)
	files := &oaPicker{}
	files.url.Store(dataSrv.URL)
	js := &oaJS{}
	scfg := stream.DefaultConfig()
	scfg.Heartbeat = 50 * time.Millisecond
	hub := stream.New(scfg, js, nil, prometheus.NewRegistry())
	disc := &fakeDiscovery{}
	g, base := start(t, baseCfg(), edge.Deps{RPC: rpc, Discovery: disc, Files: files, Stream: hub})
	doc := fetchDoc(t, base)
	if mutate != nil {
		mutate(doc)
	}
	d := &oaDriver{t: tb, doc: doc, produced: map[string]map[int]bool{},
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}

	admin := "Bearer " + k.Sign(t, "u-admin", contracts.RoleAdmin, time.Hour)
	customer := "Bearer " + k.Sign(t, "u-customer", contracts.RoleCustomer, time.Hour)
	codesOf := map[string][]contracts.Code{}
	scanned := func(svc string) []contracts.Code {
		if c, ok := codesOf[svc]; ok {
			return c
		}
		dirs := []string{"../services/" + svc}
		if svc != "file-data" {
			// Every RPC also passes through the bus and the shared helpers.
			dirs = append(dirs, "../internal/bus", "../internal/svc", "../internal/pg")
		} else {
			dirs = []string{"../services/file"}
		}
		codesOf[svc] = codesUsed(t, dirs...)
		if len(codesOf[svc]) < 3 {
			t.Fatalf("found only %v in %v", codesOf[svc], dirs)
		}
		return codesOf[svc]
	}
	otherMethod := func(rt edge.Route) string {
		have := map[string]bool{}
		for _, r := range edge.Routes() {
			if r.Path == rt.Path {
				have[r.Method] = true
			}
		}
		for _, m := range []string{"PATCH", "PUT", "DELETE", "POST", "GET"} {
			if !have[m] && !(m == "HEAD" && isFileBytes(rt)) {
				return m
			}
		}
		t.Fatalf("%s has every method", rt.Path)
		return ""
	}
	wsHeaders := []string{"Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13",
		"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}
	// good is a request rt takes, signed in as auth ("" anonymous).
	good := func(rt edge.Route, auth string) oaReq {
		r := oaReq{method: rt.Method, path: fillPath(rt.Path)}
		if auth != "" {
			r.hdr = append(r.hdr, "Authorization", auth)
		}
		switch {
		case rt.Body:
			r.body = []byte("{}")
			r.hdr = append(r.hdr, "Content-Type", "application/json")
		case rt.Custom == edge.CustomUpload:
			b, ct := multipartUpload()
			r.body = b
			r.hdr = append(r.hdr, "Content-Type", ct)
		case rt.Custom == edge.CustomWebSocket:
			r.hdr = append(r.hdr, wsHeaders...)
		case rt.Custom == edge.CustomUnsubscribe:
			r.path += "?token=t"
		}
		if rt.IdempotencyKey {
			r.hdr = append(r.hdr, "Idempotency-Key", "key-1")
		}
		return r
	}
	with := func(r oaReq, hdr ...string) oaReq {
		r.hdr = append(slices.Clone(r.hdr), hdr...)
		return r
	}
	routeLimit := func(rt edge.Route) int {
		if rt.MaxBody > 0 {
			return min(rt.MaxBody, maxBody)
		}
		return routeBody
	}

	for _, rt := range routes {
		success := rt.SuccessStatus()
		if rt.Custom == edge.CustomWebSocket {
			success = http.StatusSwitchingProtocols
		}
		// Success, signed in and (public routes) anonymous.
		if s := d.check("success", base, rt, good(rt, admin), is(success)); s == success {
			if doc := d.doc.successStatuses(d.doc.op(rt.FullPath(), rt.Method)); len(doc) == 0 || doc[0] != s {
				tb.Errorf("%s %s: a success answers %d, the document's success is %v", rt.Method, rt.Path, s, doc)
			}
		}
		if rt.Auth == edge.Public {
			d.check("anonymous success", base, rt, good(rt, ""), is(success))
		}
		// Tokens and roles.
		if rt.Custom != edge.CustomHealth {
			d.check("bad token", base, rt, good(rt, "Bearer not.a.token"), is(http.StatusUnauthorized))
			d.check("not a bearer token", base, rt, good(rt, "Basic dTpw"), is(http.StatusUnauthorized))
		}
		if rt.Auth == edge.User {
			d.check("no token", base, rt, good(rt, ""), is(http.StatusUnauthorized))
		}
		if len(rt.Roles) > 0 {
			d.check("wrong role", base, rt, good(rt, customer), is(http.StatusForbidden))
		}
		// Methods and bodies.
		d.check("wrong method", base, rt, oaReq{method: otherMethod(rt), path: fillPath(rt.Path), hdr: []string{"Authorization", admin}},
			is(http.StatusMethodNotAllowed))
		// Only RPC routes and uploads read a body. The other custom routes
		// ignore one (and the server then closes the connection with the
		// body unread, which may reset it before the client reads the
		// answer), so they are not sent one.
		tooLarge := is(http.StatusRequestEntityTooLarge)
		if rt.RPC != "" || rt.Custom == edge.CustomUpload {
			huge := good(rt, admin)
			huge.body = bytes.Repeat([]byte(" "), uploadMax+1)
			d.check("body over the server's limit", base, rt, huge, tooLarge)
		}
		if rt.RPC != "" {
			big := good(rt, admin)
			limit := maxBody
			if rt.Body {
				limit = routeLimit(rt)
			}
			big.body = bytes.Repeat([]byte(" "), limit+1)
			if !rt.Body {
				big.hdr = append(big.hdr, "Content-Type", "application/json")
			}
			d.check("body over the route's limit", base, rt, big, tooLarge)
		}
		if rt.Body {
			d.check("not JSON", base, rt, with(good(rt, admin), "Content-Type", "text/plain"), is(http.StatusUnsupportedMediaType))
			bad := good(rt, admin)
			bad.body = []byte("{")
			d.check("malformed JSON", base, rt, bad, is(http.StatusBadRequest))
		}

		switch {
		case rt.RPC != "":
			if rt.IdempotencyKey {
				r := good(rt, admin)
				r.hdr = slices.DeleteFunc(slices.Clone(r.hdr), func(s string) bool { return s == "Idempotency-Key" || s == "key-1" })
				d.check("no Idempotency-Key", base, rt, r, is(http.StatusBadRequest))
			}
			d.check("bad Idempotency-Key", base, rt, with(good(rt, admin), "Idempotency-Key", "not a key"), is(http.StatusBadRequest))
			for _, c := range scanned(rt.Service()) {
				mode.Store(&rpcMode{code: c})
				d.check("service answers "+string(c), base, rt, good(rt, admin), is(c.HTTPStatus()))
			}
			for _, err := range []error{contracts.Errorf(contracts.CodeUnavailable, "no server"),
				contracts.Errorf(contracts.CodeDeadlineExceeded, "late"), errors.New("boom")} {
				mode.Store(&rpcMode{transport: err})
				d.check("transport: "+err.Error(), base, rt, good(rt, admin), refused)
			}
			mode.Store(&rpcMode{})
			disc.down.Store(rt.Service(), true)
			d.check("no healthy instance", base, rt, good(rt, admin), is(http.StatusServiceUnavailable))
			disc.down.Delete(rt.Service())

		case rt.Custom == edge.CustomUpload || isFileBytes(rt):
			methods := []string{rt.Method}
			if isFileBytes(rt) {
				methods = append(methods, "HEAD")
			}
			for _, m := range methods {
				req := good(rt, admin)
				req.method = m
				for _, c := range scanned("file-data") {
					data.code.Store(c)
					d.check("data port answers "+string(c), base, rt, req, is(c.HTTPStatus()))
				}
				data.code.Store(contracts.Code(""))
				files.url.Store("")
				d.check("no file instance", base, rt, req, is(http.StatusServiceUnavailable))
				files.url.Store("http://127.0.0.1:1")
				d.check("file instance unreachable", base, rt, req, is(http.StatusServiceUnavailable))
				files.url.Store(dataSrv.URL)
				if isFileBytes(rt) {
					d.check("range", base, rt, with(req, "Range", "bytes=0-3"), is(http.StatusPartialContent))
					d.check("range past the end", base, rt, with(req, "Range", "bytes=100-200"), is(http.StatusRequestedRangeNotSatisfiable))
					d.check("not modified", base, rt, with(req, "If-None-Match", `"abc"`), is(http.StatusNotModified))
					d.check("success", base, rt, req, is(http.StatusOK))
					bad := req
					bad.path = strings.Replace(req.path, oaID, "not-a-uuid", 1)
					d.check("malformed id", base, rt, bad, is(http.StatusNotFound))
				}
			}
			if rt.Custom == edge.CustomUpload {
				raw := oaReq{method: "POST", path: "/files?purpose=document&name=a.txt", body: []byte("hello"),
					hdr: []string{"Authorization", admin, "Content-Type", "text/plain"}}
				d.check("raw upload", base, rt, raw, is(http.StatusCreated))
			}

		case rt.Custom == edge.CustomStream || rt.Custom == edge.CustomWebSocket:
			d.check("bad Last-Event-ID", base, rt, with(good(rt, admin), "Last-Event-ID", "x"), is(http.StatusBadRequest))
			d.check("token in the query", base, rt, oaReq{method: "GET", path: rt.Path + "?access_token=" +
				strings.TrimPrefix(admin, "Bearer "), hdr: good(rt, "").hdr}, is(success))
			js.fail.Store(true)
			d.check("NATS down", base, rt, good(rt, admin), nil)
			js.fail.Store(false)
			if rt.Custom == edge.CustomWebSocket {
				d.check("not an upgrade", base, rt, oaReq{method: "GET", path: rt.Path, hdr: []string{"Authorization", admin}},
					is(http.StatusBadRequest))
			}
		}
	}

	// Maintenance: everything but health is refused.
	g.SetMaintenance(true)
	for _, rt := range routes {
		want := is(http.StatusServiceUnavailable)
		if rt.Custom == edge.CustomHealth {
			want = is(http.StatusOK)
		}
		d.check("maintenance", base, rt, good(rt, admin), want)
	}
	g.SetMaintenance(false)

	// No hub, no file instance, and every class limited to one request:
	// each route's second request (its own user) is refused.
	cfgB := baseCfg()
	cfgB.RateDefault, cfgB.RateLogin, cfgB.RateSearch, cfgB.RateCheckout, cfgB.RateUpload = "1/1h:1", "1/1h:1", "1/1h:1", "1/1h:1", "1/1h:1"
	_, baseB := start(t, cfgB, edge.Deps{RPC: rpc, Files: &oaPicker{}})
	for i, rt := range routes {
		tok := "Bearer " + k.Sign(t, fmt.Sprint("u-rate-", i), contracts.RoleAdmin, time.Hour)
		first := d.check("first request (no hub, no file instance)", baseB, rt, good(rt, tok), nil)
		if rt.Custom == edge.CustomStream || rt.Custom == edge.CustomWebSocket || rt.Custom == edge.CustomUpload ||
			isFileBytes(rt) {
			if first != http.StatusServiceUnavailable {
				tb.Errorf("%s %s without its backend: %d", rt.Method, rt.Path, first)
			}
		}
		want := is(http.StatusTooManyRequests)
		if rt.Custom == edge.CustomHealth || rt.Custom == edge.CustomJWKS || rt.Custom == edge.CustomOpenAPI ||
			rt.Custom == edge.CustomDocs {
			want = nil
		}
		d.check("rate limited", baseB, rt, good(rt, tok), want)
	}

	// The key set cannot be fetched: no token can be verified.
	down := func(context.Context) ([]byte, error) {
		return nil, contracts.Errorf(contracts.CodeUnavailable, "user down")
	}
	_, baseC := start(t, baseCfg(), edge.Deps{RPC: rpc, JWKS: down, Files: files, Stream: hub})
	for _, rt := range routes {
		want := is(http.StatusServiceUnavailable)
		if rt.Custom == edge.CustomHealth {
			want = is(http.StatusOK)
		}
		d.check("key set unavailable", baseC, rt, good(rt, admin), want)
	}
	// Idle connections would hold each gateway's shutdown a while.
	d.client.CloseIdleConnections()
	return d
}

// TestOpenAPIChecksCatchDisagreement shows each check fails on a document
// that disagrees with the gateway: the served document is changed one way
// at a time and the checks, reporting to a recorder, must complain.
func TestOpenAPIChecksCatchDisagreement(t *testing.T) {
	t.Parallel()
	k := tokentest.New(t)
	_, base := start(t, oaConfig(), edge.Deps{RPC: &fakeRPC{keys: k}})
	raw := fetchDoc(t, base).raw
	byMethod := contractsByMethod(t)
	full := func(p string) string { return edge.APIPrefix + p }
	responses := func(d *oaDoc, path, method string) map[string]any {
		return obj(d.op(full(path), method)["responses"])
	}
	dropQuery := func(path, method, name string) func(*oaDoc) {
		return func(d *oaDoc) {
			op := d.op(full(path), method)
			op["parameters"] = slices.DeleteFunc(arr(op["parameters"]), func(p any) bool { return obj(p)["name"] == name })
		}
	}
	static := []struct {
		name            string
		mutate          func(*oaDoc)
		routes, contrct bool // which static check must complain
	}{
		{"a query parameter left out", dropQuery("/cart/items/{product_id}", "DELETE", "variant_id"), true, true},
		{"an open object for a reply", func(d *oaDoc) {
			obj(obj(obj(responses(d, "/orders/{id}", "GET")["200"])["content"])["application/json"])["schema"] =
				map[string]any{"type": "object"}
		}, true, true},
		{"a request body left out", func(d *oaDoc) { delete(d.op(full("/cart/items/{product_id}"), "PUT"), "requestBody") }, true, true},
		{"a wrong success status", func(d *oaDoc) {
			r := responses(d, "/orders", "POST")
			r["200"] = r["202"]
			delete(r, "202")
		}, true, true},
		{"roles left out", func(d *oaDoc) { delete(d.op(full("/orders/{id}/ship"), "POST"), "x-roles") }, true, false},
		{"HEAD of a download left out", func(d *oaDoc) { delete(obj(obj(d.m["paths"])[full("/files/{id}")]), "head") }, true, false},
	}
	for _, c := range static {
		doc := parseDoc(t, raw)
		c.mutate(doc)
		if got := (&oaRecorder{}).run(func(tb oaTB) { checkAgreesWithRoutes(tb, doc) }); (len(got) > 0) != c.routes {
			t.Errorf("%s: route check reported %q", c.name, got)
		}
		if got := (&oaRecorder{}).run(func(tb oaTB) { checkMatchesContracts(tb, doc, byMethod) }); (len(got) > 0) != c.contrct {
			t.Errorf("%s: contract check reported %q", c.name, got)
		}
	}

	drop := func(path, method, status string) func(*oaDoc) {
		return func(d *oaDoc) { delete(responses(d, path, method), status) }
	}
	driven := []struct {
		name, path, method string
		mutate             func(*oaDoc)
	}{
		{"a bad token on a public route", "/products", "GET", drop("/products", "GET", "401")},
		{"the service's not_found", "/orders/{id}", "GET", drop("/orders/{id}", "GET", "404")},
		{"a body over the limit", "/auth/login", "POST", drop("/auth/login", "POST", "413")},
		{"rate limited", "/cart", "GET", drop("/cart", "GET", "429")},
		{"a wrong method", "/cart", "DELETE", drop("/cart", "DELETE", "405")},
		{"no file instance", "/files", "POST", drop("/files", "POST", "503")},
		{"a byte range", "/files/{id}", "GET", drop("/files/{id}", "GET", "206")},
		{"not modified", "/files/{id}/thumbnail", "HEAD", drop("/files/{id}/thumbnail", "HEAD", "304")},
		{"the event stream as JSON", "/notifications/stream", "GET", func(d *oaDoc) {
			ok := obj(responses(d, "/notifications/stream", "GET")["200"])
			ok["content"] = map[string]any{"application/json": obj(ok["content"])["text/event-stream"]}
		}},
		{"a WebSocket documented as 200", "/ws", "GET", func(d *oaDoc) {
			r := responses(d, "/ws", "GET")
			r["200"] = r["101"]
			delete(r, "101")
		}},
		{"a 204 documented as 200", "/cart", "DELETE", func(d *oaDoc) {
			r := responses(d, "/cart", "DELETE")
			r["200"] = r["204"]
			delete(r, "204")
		}},
	}
	for _, c := range driven {
		only := func(r edge.Route) bool { return r.Path == c.path && (r.Method == c.method || c.method == "HEAD") }
		rec := &oaRecorder{}
		got := rec.run(func(tb oaTB) { driveGateway(t, tb, c.mutate, only) })
		if len(got) == 0 {
			t.Errorf("%s (%s %s): the drive check did not notice", c.name, c.method, c.path)
		} else {
			t.Logf("%s: %s", c.name, got[0])
		}
	}
}
