package user_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/svc"
	"github.com/opencommerce/opencommerce/internal/svc/svctest"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/internal/token"
	"github.com/opencommerce/opencommerce/services/user"
	"github.com/opencommerce/opencommerce/services/user/account"
)

// testArgon2 keeps hashing cheap in tests (production defaults are OWASP's).
var testArgon2 = account.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const goodPassword = "Correct-Horse-7"

// env is one user service started in process on isolated servers, with a
// probe consuming its events. Every reply body and every event is recorded
// and checked at the end for anything that looks like a password hash.
type env struct {
	t    *testing.T
	deps svc.Deps
	svc  *user.Service
	cfg  user.Config

	mu      sync.Mutex
	replies [][]byte
	events  []contracts.Event
}

func newEnv(t *testing.T, mutate ...func(*user.Config)) *env {
	t.Helper()
	deps, _ := svctest.Deps(t)
	cfg := user.DefaultConfig()
	cfg.Argon2 = testArgon2
	cfg.HashConcurrency = 4
	for _, m := range mutate {
		m(&cfg)
	}
	e := &env{t: t, deps: deps, cfg: cfg}

	cons := bus.NewConsumer(deps.Bus, bus.ConsumerConfig{Service: "probe", Bindings: []string{"user.*"}},
		func(_ context.Context, ev contracts.Event) error {
			e.mu.Lock()
			e.events = append(e.events, ev)
			e.mu.Unlock()
			return nil
		}, deps.Log, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cons.Start(ctx); err != nil {
		t.Fatalf("probe consumer: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = cons.Shutdown(ctx)
	})

	svc, err := user.New(cfg, deps)
	if err != nil {
		t.Fatalf("user.New: %v", err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatalf("user.Start: %v", err)
	}
	e.svc = svc
	t.Cleanup(func() {
		e.assertNoSecrets()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := svc.Stop(ctx); err != nil {
			t.Errorf("user.Stop: %v", err)
		}
	})
	return e
}

// assertNoSecrets fails if any reply or event carries a password hash.
func (e *env) assertNoSecrets() {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	check := func(what string, b []byte) {
		for _, bad := range []string{"argon2", "password_hash", "passwordhash", goodPassword, adminPassword, "Another-Pass-9"} {
			if bytes.Contains(bytes.ToLower(b), []byte(strings.ToLower(bad))) {
				e.t.Errorf("%s contains %q: %s", what, bad, b)
			}
		}
	}
	for _, r := range e.replies {
		check("reply", r)
	}
	for _, ev := range e.events {
		b, _ := json.Marshal(ev)
		check("event "+ev.Type, b)
	}
}

// eventsOf waits until n events of type typ were consumed and returns them.
func (e *env) eventsOf(typ string, n int) []contracts.Event {
	e.t.Helper()
	var got []contracts.Event
	testenv.Eventually(e.t, fmt.Sprintf("%d %s events consumed", n, typ), func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		got = got[:0]
		for _, ev := range e.events {
			if ev.Type == typ {
				got = append(got, ev)
			}
		}
		return len(got) >= n
	})
	return got
}

// call sends an RPC to the user service and returns the status and body.
func (e *env) call(a contracts.Actor, method string, req any) (string, []byte) {
	e.t.Helper()
	var body []byte
	switch r := req.(type) {
	case nil:
	case []byte:
		body = r
	case string:
		body = []byte(r)
	default:
		var err error
		if body, err = json.Marshal(r); err != nil {
			e.t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	rep, err := e.deps.RPC.Call(ctx, user.Name, method, body, bus.CallOptions{Actor: a})
	if err != nil {
		e.t.Fatalf("%s: transport: %v", method, err)
	}
	e.mu.Lock()
	e.replies = append(e.replies, rep.Body)
	e.mu.Unlock()
	return rep.Status, rep.Body
}

// ok calls and decodes an ok reply into out (may be nil).
func (e *env) ok(a contracts.Actor, method string, req any, out any) {
	e.t.Helper()
	st, b := e.call(a, method, req)
	if st != contracts.StatusOK {
		e.t.Fatalf("%s: status %s: %s", method, st, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s: decode %s: %v", method, b, err)
		}
	}
}

// fail calls, expects code, and returns the error.
func (e *env) fail(a contracts.Actor, method string, req any, code contracts.Code) *contracts.Error {
	e.t.Helper()
	st, b := e.call(a, method, req)
	if st != string(code) {
		e.t.Fatalf("%s: status %s, want %s: %s", method, st, code, b)
	}
	var eb contracts.ErrorBody
	if err := json.Unmarshal(b, &eb); err != nil || eb.Error == nil {
		e.t.Fatalf("%s: error body %s: %v", method, b, err)
	}
	if eb.Error.Code != code || eb.Error.Message == "" {
		e.t.Fatalf("%s: error %+v", method, eb.Error)
	}
	return eb.Error
}

// envl builds a gateway envelope with a JSON body (nil: no body) and
// params given as key, value pairs.
func envl(body any, params ...string) contracts.Envelope {
	env := contracts.Envelope{Params: contracts.Params{}, Meta: map[string]string{}}
	if body != nil {
		switch b := body.(type) {
		case string:
			env.Body = contracts.RawJSON(b)
		default:
			raw, err := json.Marshal(b)
			if err != nil {
				panic(err)
			}
			env.Body = raw
		}
	}
	for i := 0; i+1 < len(params); i += 2 {
		env.Params[params[i]] = append(env.Params[params[i]], params[i+1])
	}
	return env
}

func withIP(env contracts.Envelope, ip string) contracts.Envelope {
	env.Meta["client_ip"] = ip
	return env
}

var anon = contracts.Actor{}

func actorOf(u contracts.User) contracts.Actor { return contracts.Actor{ID: u.ID, Role: u.Role} }

func (e *env) register(email, name, role string) contracts.User {
	e.t.Helper()
	var rep contracts.RegisterReply
	e.ok(anon, contracts.MethodUserRegister, envl(contracts.RegisterRequest{Email: email, Password: goodPassword, Name: name, Role: role}), &rep)
	return rep.User
}

func (e *env) login(email, password string) contracts.Tokens {
	e.t.Helper()
	var tok contracts.Tokens
	e.ok(anon, contracts.MethodUserLogin, envl(contracts.LoginRequest{Email: email, Password: password}), &tok)
	return tok
}

func (e *env) refresh(rt string) (string, []byte) {
	return e.call(anon, contracts.MethodUserRefresh, envl(contracts.RefreshRequest{RefreshToken: rt}))
}

// keys fetches user.jwks as the gateway does.
func (e *env) keys() token.KeySet {
	e.t.Helper()
	var set contracts.JWKS
	e.ok(contracts.Actor{Role: contracts.RoleService}, contracts.MethodUserJWKS, nil, &set)
	ks, err := token.ParseJWKS(set)
	if err != nil {
		e.t.Fatal(err)
	}
	return ks
}

// admin signs in as the bootstrap admin of a service started with
// withAdmin.
func (e *env) admin() contracts.Actor {
	e.t.Helper()
	return actorOf(e.login(adminEmail, adminPassword).User)
}

const (
	adminEmail    = "root@opencommerce.test"
	adminPassword = "Admin-Passw0rd!"
)

func withAdmin(c *user.Config) {
	c.BootstrapAdminEmail = adminEmail
	c.BootstrapAdminPassword = adminPassword
}

func uniqueEmail(prefix string) string {
	return fmt.Sprintf("%s-%d@example.com", prefix, time.Now().UnixNano())
}
