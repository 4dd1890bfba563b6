// Package auth verifies access tokens at the edge. Tokens are checked
// locally (internal/token: Ed25519 JWTs, EdDSA only) against the user
// service's public key set, which is fetched through a Fetcher (the gateway
// passes one calling user.jwks), cached, refreshed periodically (Run), and
// loaded on demand when a token or a JWKS request finds no key set cached.
//
// Fetches are bounded so neither forged key ids nor an unavailable user
// service make the gateway hammer it:
//
//   - every caller needing the key set while a fetch runs shares that fetch;
//   - a token naming an unknown key id, with a key set cached, starts a
//     refetch at most once per RefetchInterval (the first load of the key
//     set, the periodic refresh and failed refetches do not count);
//   - after a failed fetch, no fetch is started on demand for a backoff
//     (Backoff, doubling per consecutive failure up to MaxBackoff; a
//     success resets it). Callers that need a fetch meanwhile get
//     errUnavailable (contracts.CodeUnavailable): a token is never
//     accepted without its signature verified, and is not refused as
//     invalid merely because the keys could not be fetched.
//
// Verified tokens are remembered (bounded, until their expiry) so a
// signed-in client's repeated requests cost a map lookup, not an Ed25519
// verification and two JSON decodes.
//
// Session revocation: the Verifier keeps, per user, the cut-off of their
// last session revocation (Revoke, LoadRevocations; the gateway feeds them
// from user.sessions_revoked events and the user.revocations RPC). A token
// issued at or before its user's cut-off is refused as errRevoked, checked
// on every request (memoised tokens too) with one read-locked map lookup
// and no allocation. While the feed is not in step with the user service
// (RevocationsDown: before it first connected, while the broker is away;
// RevocationsUp: connected but the cut-offs not loaded yet) a token issued
// before the feed (re)connected may have been revoked unseen: it gets
// CodeUnavailable (503, retry), never accepted; tokens issued after the
// (re)connection are checked as usual, since every revocation that can
// void them arrives as an event.
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/token"
)

// Fetcher returns the current JWKS document (contracts.JWKS as JSON).
type Fetcher func(ctx context.Context) ([]byte, error)

// Config tunes a Verifier.
type Config struct {
	// RefetchInterval is the least time between two fetches caused by
	// unknown key ids (0: 10s).
	RefetchInterval time.Duration
	// RefreshInterval is the period of the background refresh (Run)
	// (0: 5m).
	RefreshInterval time.Duration
	// Backoff is how long after a failed fetch no fetch is started on
	// demand (0: 1s); it doubles with each consecutive failure up to
	// MaxBackoff (0: 5s).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Leeway tolerates clock skew on exp/iat.
	Leeway time.Duration
	// MaxRemembered bounds the verified-token memo (0: 10000).
	MaxRemembered int
}

// cutoffHorizon is how long a session cut-off is kept: access tokens live
// at most 24h (user.access-ttl), so an older cut-off voids nothing.
const cutoffHorizon = 24*time.Hour + 5*time.Minute

type keyState struct {
	set token.KeySet
	raw []byte // the JWKS document, served at /.well-known/jwks.json
}

type memo struct {
	actor   contracts.Actor
	expires int64 // unix seconds (token exp)
	issued  int64 // unix microseconds (token.Claims.Issued)
}

// flight is one fetch of the key set, shared by every caller that needs the
// key set while it runs.
type flight struct {
	done chan struct{}
	err  error // set before done is closed
	// refetch: started for an unknown key id; prev is lastRefetch before
	// it, restored if the fetch fails (a failed refetch is bounded by the
	// backoff instead).
	refetch bool
	prev    int64
}

// Verifier verifies access tokens. Safe for concurrent use.
type Verifier struct {
	fetch Fetcher
	cfg   Config
	log   *slog.Logger
	keys  atomic.Pointer[keyState]
	now   func() time.Time

	fmu         sync.Mutex // guards the fields below
	inflight    *flight    // the fetch running now, if any
	lastRefetch int64      // unix nanos of the start of the last unknown-kid refetch
	failures    int        // consecutive failed fetches
	retryAt     int64      // unix nanos before which no fetch starts on demand

	mu   sync.RWMutex
	seen map[string]memo

	rmu  sync.RWMutex
	cuts map[string]int64 // user id → session cut-off, unix microseconds
	// trustFrom: 0 when the revocation feed is in step (or there is
	// none); else tokens issued at or before it (unix µs) cannot be
	// checked and get errNotInStep (math.MaxInt64: no token can).
	trustFrom atomic.Int64
}

// New returns a Verifier over fetch. No fetch happens until Refresh, Run,
// JWKS or the first token.
func New(fetch Fetcher, cfg Config, log *slog.Logger) *Verifier {
	if cfg.RefetchInterval <= 0 {
		cfg.RefetchInterval = 10 * time.Second
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = 5 * time.Minute
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.MaxBackoff < cfg.Backoff {
		cfg.MaxBackoff = cfg.Backoff
	}
	if cfg.MaxRemembered <= 0 {
		cfg.MaxRemembered = 10_000
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Verifier{fetch: fetch, cfg: cfg, log: log, now: time.Now, seen: map[string]memo{}, cuts: map[string]int64{}}
}

// SetClock replaces the clock; for tests. Call it before any other method.
func (v *Verifier) SetClock(now func() time.Time) { v.now = now }

// Errors of Verify, as they reach the client.
var (
	errMissing = contracts.Unauthenticated("missing bearer token")
	errInvalid = contracts.Unauthenticated("invalid or expired access token")
	errRevoked = contracts.Unauthenticated("your session has ended (signed out everywhere, password or role " +
		"changed, or account disabled); sign in again")
	errNotInStep = contracts.Errorf(contracts.CodeUnavailable,
		"session revocations are being synchronised; try again").WithDetail("retry_after", int64(1))
)

// IsRevoked reports whether err is the refusal of a revoked session.
func IsRevoked(err error) bool { return err == errRevoked }

// errUnavailable reports that the key set cannot be fetched now; the
// gateway answers 503 with Retry-After. details.retry_after is the time
// left until the next fetch may be started, in whole seconds.
func (v *Verifier) errUnavailable(now int64) *contracts.Error {
	v.fmu.Lock()
	wait := v.retryAt - now
	v.fmu.Unlock()
	secs := max(1, (wait+int64(time.Second)-1)/int64(time.Second))
	return contracts.Errorf(contracts.CodeUnavailable, "signing keys unavailable, try again").WithDetail("retry_after", secs)
}

// errNoFetch: a gate refused to start a fetch; errBudget: because the
// unknown-kid refetch budget is spent (the token is then invalid).
var (
	errNoFetch = errors.New("auth: key set fetch backing off")
	errBudget  = errors.New("auth: key set refetch budget spent")
)

// Refresh fetches the key set now, or waits for the fetch already running.
// It ignores the backoff: it is for Start and the periodic refresh.
func (v *Verifier) Refresh(ctx context.Context) error {
	_, err := v.do(ctx, nil)
	return err
}

// do joins the fetch in progress, or else starts one if gate (called with
// fmu held; nil allows) allows it, and returns the fetch's error (or the
// gate's). The starter runs the fetch on its ctx; others wait on theirs.
func (v *Verifier) do(ctx context.Context, gate func(f *flight, now int64) error) (started bool, err error) {
	f, started, err := v.begin(gate)
	if err != nil {
		return false, err
	}
	if started {
		v.run(ctx, f)
		return true, f.err
	}
	select {
	case <-f.done:
		return false, f.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

func (v *Verifier) begin(gate func(f *flight, now int64) error) (f *flight, started bool, err error) {
	v.fmu.Lock()
	defer v.fmu.Unlock()
	if v.inflight != nil {
		return v.inflight, false, nil
	}
	f = &flight{done: make(chan struct{})}
	if gate != nil {
		if err := gate(f, v.now().UnixNano()); err != nil {
			return nil, false, err
		}
	}
	v.inflight = f
	return f, true, nil
}

// gateLoad allows a fetch on demand when no key set is cached: unless
// backing off after a failure.
func (v *Verifier) gateLoad(_ *flight, now int64) error {
	if now < v.retryAt {
		return errNoFetch
	}
	return nil
}

// gateRefetch allows a fetch for an unknown key id: at most one per
// RefetchInterval, and none while backing off after a failure.
func (v *Verifier) gateRefetch(f *flight, now int64) error {
	if v.lastRefetch != 0 && now-v.lastRefetch < int64(v.cfg.RefetchInterval) {
		return errBudget
	}
	if now < v.retryAt {
		return errNoFetch
	}
	f.refetch, f.prev = true, v.lastRefetch
	v.lastRefetch = now
	return nil
}

// run performs the fetch of f and records its outcome (also if the
// fetcher panics, so waiters are released).
func (v *Verifier) run(ctx context.Context, f *flight) {
	err := errors.New("auth: jwks fetcher panicked")
	defer func() { v.finish(ctx, f, err) }()
	err = v.load(ctx)
}

func (v *Verifier) finish(ctx context.Context, f *flight, err error) {
	now := v.now()
	v.fmu.Lock()
	switch {
	case err == nil:
		v.failures, v.retryAt = 0, 0
	case errors.Is(ctx.Err(), context.Canceled):
		// The starter went away: says nothing about the user service.
		if f.refetch {
			v.lastRefetch = f.prev
		}
	default:
		v.failures++
		wait := v.cfg.Backoff
		for i := 1; i < v.failures && wait < v.cfg.MaxBackoff; i++ {
			wait *= 2
		}
		wait = min(wait, v.cfg.MaxBackoff)
		v.retryAt = now.Add(wait).UnixNano()
		if f.refetch {
			v.lastRefetch = f.prev // a failed refetch is bounded by the backoff
		}
		v.log.Warn("jwks fetch failed", "err", err, "failures", v.failures, "retry_in", wait,
			"cached", v.keys.Load() != nil)
	}
	f.err = err
	v.inflight = nil
	v.fmu.Unlock()
	close(f.done)
}

// load fetches, parses and installs the key set.
func (v *Verifier) load(ctx context.Context) error {
	raw, err := v.fetch(ctx)
	if err != nil {
		return err
	}
	var doc contracts.JWKS
	if err := json.Unmarshal(raw, &doc); err != nil {
		return err
	}
	set, err := token.ParseJWKS(doc)
	if err != nil {
		return err
	}
	// Serve a canonical document (only the keys we accept).
	pub := contracts.JWKS{Keys: make([]contracts.JWK, 0, len(set))}
	for _, k := range doc.Keys {
		if _, ok := set[k.Kid]; ok {
			pub.Keys = append(pub.Keys, k)
		}
	}
	out, err := json.Marshal(pub)
	if err != nil {
		return err
	}
	old := v.keys.Swap(&keyState{set: set, raw: out})
	if old != nil && !sameKeys(old.set, set) {
		v.forget() // a removed key must stop being accepted at once
	}
	return nil
}

func sameKeys(a, b token.KeySet) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

func (v *Verifier) forget() {
	v.mu.Lock()
	clear(v.seen)
	v.mu.Unlock()
}

// Run refreshes the key set every RefreshInterval until ctx ends. Failures
// are logged; the last good key set stays in use.
func (v *Verifier) Run(ctx context.Context) {
	t := time.NewTicker(v.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_ = v.Refresh(rctx) // logged by run
			cancel()
			v.pruneCuts()
		}
	}
}

// cached returns the cached key set, loading it if none is cached (bounded
// by the backoff). The error is a CodeUnavailable *contracts.Error.
func (v *Verifier) cached(ctx context.Context) (*keyState, error) {
	if ks := v.keys.Load(); ks != nil {
		return ks, nil
	}
	_, _ = v.do(ctx, v.gateLoad) // failures are logged by run
	if ks := v.keys.Load(); ks != nil {
		return ks, nil // loaded, maybe by another fetch meanwhile
	}
	return nil, v.errUnavailable(v.now().UnixNano())
}

// JWKS returns the cached key set document, fetching it if none is cached.
// While the key set cannot be fetched it returns a CodeUnavailable error.
func (v *Verifier) JWKS(ctx context.Context) ([]byte, error) {
	ks, err := v.cached(ctx)
	if err != nil {
		return nil, err
	}
	return ks.raw, nil
}

// Verify checks a bearer token and returns its actor, or an
// unauthenticated *contracts.Error (empty token: "missing"), or a
// CodeUnavailable one when the keys needed to check it cannot be fetched.
func (v *Verifier) Verify(ctx context.Context, tok string) (contracts.Actor, error) {
	if tok == "" {
		return contracts.Actor{}, errMissing
	}
	now := v.now()
	v.mu.RLock()
	m, ok := v.seen[tok]
	v.mu.RUnlock()
	if ok && now.Unix() < m.expires+int64(v.cfg.Leeway/time.Second) {
		if err := v.checkSession(m.actor.ID, m.issued); err != nil {
			return contracts.Actor{}, err
		}
		return m.actor, nil
	}
	ks, err := v.cached(ctx)
	if err != nil {
		return contracts.Actor{}, err
	}
	opt := token.Options{Now: now, Leeway: v.cfg.Leeway}
	c, err := token.Verify(tok, ks.set, opt)
	// An unknown key id: the key set may have rotated. Share a fetch in
	// progress (free), else start one within the refetch budget. A joined
	// fetch may have started before the key was published: then try once
	// more to start one.
	for i := 0; i < 2 && errors.Is(err, token.ErrUnknownKey); i++ {
		started, ferr := v.do(ctx, v.gateRefetch)
		switch {
		case errors.Is(ferr, errBudget):
			return contracts.Actor{}, errInvalid
		case ferr != nil:
			return contracts.Actor{}, v.errUnavailable(v.now().UnixNano())
		}
		c, err = token.Verify(tok, v.keys.Load().set, opt)
		if started {
			break
		}
	}
	if err != nil {
		return contracts.Actor{}, errInvalid
	}
	a := c.Actor()
	v.remember(tok, memo{actor: a, expires: c.Expires, issued: c.Issued()})
	if err := v.checkSession(a.ID, c.Issued()); err != nil {
		return contracts.Actor{}, err
	}
	return a, nil
}

// checkSession refuses a token of userID issued (unix µs) at or before the
// user's session cut-off, or one the feed cannot vouch for now.
func (v *Verifier) checkSession(userID string, issued int64) error {
	v.rmu.RLock()
	cut, ok := v.cuts[userID]
	v.rmu.RUnlock()
	if ok && issued <= cut {
		return errRevoked
	}
	if from := v.trustFrom.Load(); from != 0 && issued <= from {
		return errNotInStep
	}
	return nil
}

// Revoke voids every token of userID issued at or before before (a cut-off
// never moves back). Safe for concurrent use.
func (v *Verifier) Revoke(userID string, before time.Time) {
	us := before.UnixMicro()
	v.rmu.Lock()
	if cur, ok := v.cuts[userID]; !ok || us > cur {
		v.cuts[userID] = us
	}
	v.rmu.Unlock()
}

// LoadRevocations merges the cut-offs loaded from the user service (Revoke
// for each) and, when the feed has not gone down since RevocationsUp
// returned gen, puts the feed in step: every token is checked against the
// cut-offs from now on. It reports whether it did.
func (v *Verifier) LoadRevocations(items []contracts.Revocation, gen int64) bool {
	for _, r := range items {
		v.Revoke(r.UserID, r.RevokedBefore)
	}
	return v.trustFrom.CompareAndSwap(gen, 0)
}

// RevocationsInStep reports whether every token is checked against the
// cut-offs (LoadRevocations succeeded since the feed last went down).
func (v *Verifier) RevocationsInStep() bool { return v.trustFrom.Load() == 0 }

// RevocationsDown says the revocation feed cannot receive revocations
// (not connected yet, or the broker is away): no token can be vouched for.
func (v *Verifier) RevocationsDown() { v.trustFrom.Store(math.MaxInt64) }

// RevocationsUp says the feed receives revocations again, from now on:
// tokens issued after now (plus the clock leeway, for the signer's clock)
// are checked as usual; older ones wait for LoadRevocations. It returns the
// generation to pass to LoadRevocations.
func (v *Verifier) RevocationsUp() int64 {
	gen := v.now().Add(v.cfg.Leeway).UnixMicro()
	v.trustFrom.Store(gen)
	return gen
}

// pruneCuts forgets cut-offs older than any token can be.
func (v *Verifier) pruneCuts() {
	horizon := v.now().Add(-cutoffHorizon - v.cfg.Leeway).UnixMicro()
	v.rmu.Lock()
	for id, us := range v.cuts {
		if us < horizon {
			delete(v.cuts, id)
		}
	}
	v.rmu.Unlock()
}

func (v *Verifier) remember(tok string, m memo) {
	v.mu.Lock()
	if len(v.seen) >= v.cfg.MaxRemembered {
		now := v.now().Unix()
		for k, e := range v.seen {
			if e.expires <= now {
				delete(v.seen, k)
			}
		}
		if len(v.seen) >= v.cfg.MaxRemembered {
			clear(v.seen)
		}
	}
	v.seen[tok] = m
	v.mu.Unlock()
}
