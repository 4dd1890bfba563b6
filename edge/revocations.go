package edge

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
)

// Broker opens channels on the platform's supervised broker connection
// (*bus.Conn): Channel waits for a connection until ctx ends.
type Broker interface {
	Channel(ctx context.Context) (*amqp.Channel, error)
}

// Session revocations reach every gateway instance within a second, without
// a call to the user service per request:
//
//   - each instance consumes user.sessions_revoked from oc.events on a
//     queue of its own (server-named, exclusive, auto-delete: it lives as
//     long as the instance's connection, and every instance gets every
//     event), and installs each cut-off in the verifier;
//   - after binding it (on start and after every reconnect) it loads the
//     cut-offs still relevant with one user.revocations call, so a
//     revocation made while it was not listening is not missed;
//   - until that load succeeds, tokens issued before the (re)connection get
//     503 with Retry-After rather than a guess (auth.Verifier.RevocationsUp);
//     while the broker is away, every token does: nothing could tell the
//     instance of a revocation.
//
// The NATS event mirror (internal/eventmirror) is not used: a revocation
// takes the shortest path, RabbitMQ to this instance, with no second broker
// and no other module in between.
func (g *Gateway) runRevocations(ctx context.Context) {
	defer g.verifier.RevocationsDown()
	wait := 100 * time.Millisecond
	for {
		connected, err := g.followRevocations(ctx)
		g.verifier.RevocationsDown()
		if ctx.Err() != nil {
			return
		}
		if connected {
			wait = 100 * time.Millisecond
		}
		g.log.Warn("session revocation feed lost; reconnecting", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// awaitRevocations waits, for at most revocationStartWait or until ctx
// ends, until the feed is in step, so a gateway that has just started does
// not answer its first signed-in requests with 503 while the first load is
// on its way. A feed still not in step then is logged; requests get 503
// until it is.
func (g *Gateway) awaitRevocations(ctx context.Context) {
	deadline := time.Now().Add(revocationStartWait)
	for !g.verifier.RevocationsInStep() {
		if ctx.Err() != nil || time.Now().After(deadline) {
			g.log.Warn("session revocations not loaded yet; signed-in requests get 503 until they are")
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// revocationStartWait bounds awaitRevocations.
const revocationStartWait = 10 * time.Second

// followRevocations binds this instance's queue and applies the events on
// it until the channel is lost or ctx ends; connected reports whether it got
// as far as consuming.
func (g *Gateway) followRevocations(ctx context.Context) (connected bool, err error) {
	ch, err := g.broker.Channel(ctx)
	if err != nil {
		return false, err
	}
	defer ch.Close()
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		return false, err
	}
	if err := ch.QueueBind(q.Name, contracts.EventUserSessionsRevoked, contracts.EventsExchange, false, nil); err != nil {
		return false, err
	}
	dels, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		return false, err
	}
	lctx, cancel := context.WithCancel(ctx)
	var loads sync.WaitGroup
	defer func() { cancel(); loads.Wait() }()
	reload := func() {
		gen := g.verifier.RevocationsUp()
		loads.Go(func() { g.loadRevocations(lctx, gen) })
	}
	reload()
	for {
		select {
		case d, ok := <-dels:
			if !ok {
				return true, errors.New("channel closed")
			}
			if !g.applyRevocation(d.Body) {
				// A revocation we cannot read names nobody: load them all
				// again rather than miss it.
				reload()
			}
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
}

// applyRevocation installs the cut-off of one user.sessions_revoked event.
func (g *Gateway) applyRevocation(body []byte) bool {
	var ev struct {
		Data contracts.UserSessionsRevoked `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.Data.UserID == "" || ev.Data.RevokedBefore.IsZero() {
		g.log.Error("unreadable session revocation event; reloading every revocation", "err", err)
		return false
	}
	g.verifier.Revoke(ev.Data.UserID, ev.Data.RevokedBefore)
	if e, ok := g.hub.(interface{ EndUser(userID string) }); ok {
		// An open notification stream outlives its token's check.
		e.EndUser(ev.Data.UserID)
	}
	return true
}

// loadRevocations calls user.revocations until it succeeds (backing off
// from 200 ms to 5 s) or ctx ends, and installs the cut-offs.
func (g *Gateway) loadRevocations(ctx context.Context, gen int64) {
	wait := 200 * time.Millisecond
	for {
		items, err := g.fetchRevocations(ctx)
		if err == nil {
			g.verifier.LoadRevocations(items, gen)
			return
		}
		if ctx.Err() != nil {
			return
		}
		g.log.Warn("load session revocations", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

func (g *Gateway) fetchRevocations(ctx context.Context) ([]contracts.Revocation, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r, err := g.rpc.Call(ctx, "user", contracts.MethodUserRevocations, []byte("{}"),
		bus.CallOptions{Actor: contracts.Actor{Role: contracts.RoleService}})
	if err != nil {
		return nil, err
	}
	if !r.OK() {
		return nil, r.Err()
	}
	var rep contracts.RevocationsReply
	if err := json.Unmarshal(r.Body, &rep); err != nil {
		return nil, err
	}
	return rep.Items, nil
}
