package user_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
	"github.com/opencommerce/opencommerce/internal/bus/bustest"
	"github.com/opencommerce/opencommerce/services/user"
)

func TestProfileAndPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.register("gina@example.com", "Gina", "")
	me := actorOf(u)

	var got contracts.User
	e.ok(me, contracts.MethodUserMeGet, envl(nil), &got)
	if got.ID != u.ID || got.Email != "gina@example.com" {
		t.Fatalf("me = %+v", got)
	}
	e.ok(me, contracts.MethodUserMeUpdate, envl(`{"name":"  Gina Q ","phone":"+1 (555) 123-4567"}`), &got)
	if got.Name != "Gina Q" || got.Phone != "+15551234567" {
		t.Fatalf("updated = %+v", got)
	}
	e.fail(me, contracts.MethodUserMeUpdate, envl(`{"phone":"call me"}`), contracts.CodeInvalidArgument)
	e.fail(me, contracts.MethodUserMeUpdate, envl(`{"name":""}`), contracts.CodeInvalidArgument)
	e.fail(anon, contracts.MethodUserMeGet, envl(nil), contracts.CodeUnauthenticated)
	e.fail(contracts.Actor{Role: contracts.RoleService}, contracts.MethodUserMeGet, envl(nil), contracts.CodeUnauthenticated)
	upd := e.eventsOf(contracts.EventUserUpdated, 1)
	var ev contracts.UserUpdated
	if err := upd[0].Decode(&ev); err != nil || ev.Name != "Gina Q" || len(ev.Changed) != 2 {
		t.Fatalf("user.updated = %s", upd[0].Data)
	}

	session := e.login("gina@example.com", goodPassword)
	bad := e.fail(me, contracts.MethodUserPasswordChange, envl(contracts.ChangePasswordRequest{CurrentPassword: "Nope-nope-1", NewPassword: "Another-Pass-9"}), contracts.CodeInvalidArgument)
	if bad.Details["field"] != "current_password" {
		t.Fatalf("details = %v", bad.Details)
	}
	e.fail(me, contracts.MethodUserPasswordChange, envl(contracts.ChangePasswordRequest{CurrentPassword: goodPassword, NewPassword: "short"}), contracts.CodeInvalidArgument)
	e.ok(me, contracts.MethodUserPasswordChange, envl(contracts.ChangePasswordRequest{CurrentPassword: goodPassword, NewPassword: "Another-Pass-9"}), nil)
	// Every session ended; the old password no longer works; the new one does.
	e.fail(anon, contracts.MethodUserRefresh, envl(contracts.RefreshRequest{RefreshToken: session.RefreshToken}), contracts.CodeUnauthenticated)
	e.fail(anon, contracts.MethodUserLogin, envl(contracts.LoginRequest{Email: "gina@example.com", Password: goodPassword}), contracts.CodeUnauthenticated)
	e.login("gina@example.com", "Another-Pass-9")
}

func TestAddresses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := actorOf(e.register("hank@example.com", "Hank", ""))
	b := actorOf(e.register("ivy@example.com", "Ivy", ""))

	home := contracts.AddressInput{Line1: "1 Main St", City: "Springfield", State: "IL", PostalCode: "62701", Country: "us"}
	var a1, a2 contracts.Address
	e.ok(a, contracts.MethodUserAddressesCreate, envl(home), &a1)
	if !a1.IsDefault || a1.Country != "US" || a1.ID == "" {
		t.Fatalf("first address = %+v", a1)
	}
	work := contracts.AddressInput{Line1: "2 Work Rd", Line2: "Floor 3", City: "Chicago", PostalCode: "60601", Country: "US", IsDefault: true}
	e.ok(a, contracts.MethodUserAddressesCreate, envl(work), &a2)
	var list contracts.List[contracts.Address]
	e.ok(a, contracts.MethodUserAddressesList, envl(nil), &list)
	if len(list.Items) != 2 || list.Items[0].ID != a2.ID || !list.Items[0].IsDefault || list.Items[1].IsDefault {
		t.Fatalf("list = %+v", list.Items)
	}

	var upd contracts.Address
	e.ok(a, contracts.MethodUserAddressesUpdate, envl(`{"city":"Peoria","is_default":true}`, "id", a1.ID), &upd)
	if upd.City != "Peoria" || !upd.IsDefault || upd.Line1 != "1 Main St" {
		t.Fatalf("updated = %+v", upd)
	}
	e.fail(a, contracts.MethodUserAddressesUpdate, envl(`{"country":"USA"}`, "id", a1.ID), contracts.CodeInvalidArgument)

	// Cross-user: B sees nothing of A's and cannot touch it.
	e.ok(b, contracts.MethodUserAddressesList, envl(nil), &list)
	if len(list.Items) != 0 {
		t.Fatalf("B sees %d addresses", len(list.Items))
	}
	e.fail(b, contracts.MethodUserAddressesUpdate, envl(`{"city":"Hacked"}`, "id", a1.ID), contracts.CodeNotFound)
	e.fail(b, contracts.MethodUserAddressesDelete, envl(nil, "id", a1.ID), contracts.CodeNotFound)
	e.fail(anon, contracts.MethodUserAddressesList, envl(nil), contracts.CodeUnauthenticated)

	// Deleting the default promotes the remaining address.
	e.ok(a, contracts.MethodUserAddressesDelete, envl(nil, "id", a1.ID), nil)
	e.ok(a, contracts.MethodUserAddressesList, envl(nil), &list)
	if len(list.Items) != 1 || list.Items[0].ID != a2.ID || !list.Items[0].IsDefault || list.Items[0].City != "Chicago" {
		t.Fatalf("after delete = %+v", list.Items)
	}
	e.fail(a, contracts.MethodUserAddressesDelete, envl(nil, "id", a1.ID), contracts.CodeNotFound)
	e.fail(a, contracts.MethodUserAddressesDelete, envl(nil, "id", "not-a-uuid"), contracts.CodeInvalidArgument)
}

// fakeProducts answers product.lookup over the real bus from a map.
type fakeProducts struct {
	mu    sync.Mutex
	items map[string]contracts.LookupItem
	calls [][]string
}

func (f *fakeProducts) serve(t *testing.T, e *env) {
	bustest.Serve(t, e.deps.Bus, bus.ServerConfig{Service: "product"}, map[string]bus.Handler{
		contracts.MethodProductLookup: func(_ context.Context, r *bus.Request) (any, error) {
			var req contracts.LookupRequest
			if err := bus.Decode(r, &req); err != nil {
				return nil, err
			}
			if r.Actor.Role != contracts.RoleService {
				return nil, contracts.PermissionDenied("service only")
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			f.calls = append(f.calls, req.IDs)
			rep := contracts.LookupReply{Items: []contracts.LookupItem{}}
			for _, id := range req.IDs {
				it, ok := f.items[id]
				if !ok {
					it = contracts.LookupItem{ID: id}
				}
				rep.Items = append(rep.Items, it)
			}
			return rep, nil
		},
	})
}

func (f *fakeProducts) add(name string, price int64) string {
	id := uuid.NewString()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items[id] = contracts.LookupItem{ID: id, Exists: true, Name: name, Price: contracts.USD(price),
		ImageURL: "/api/v1/files/" + name, Status: "active", StockStatus: "in_stock"}
	return id
}

func (f *fakeProducts) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.items, id)
}

func TestWishlist(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fp := &fakeProducts{items: map[string]contracts.LookupItem{}}
	fp.serve(t, e)
	a := actorOf(e.register("jack@example.com", "Jack", ""))
	b := actorOf(e.register("kim@example.com", "Kim", ""))

	var ids []string
	for i, name := range []string{"mug", "lamp", "desk"} {
		id := fp.add(name, int64(1000*(i+1)))
		ids = append(ids, id)
		var it contracts.WishlistItem
		e.ok(a, contracts.MethodUserWishlistAdd, envl(contracts.WishlistAddRequest{ProductID: id}), &it)
		if it.Availability != contracts.WishlistAvailable || it.Name != name || it.Price == nil || it.Price.Amount != int64(1000*(i+1)) {
			t.Fatalf("added = %+v", it)
		}
	}
	// Adding twice is idempotent; an unknown product is not_found.
	e.ok(a, contracts.MethodUserWishlistAdd, envl(contracts.WishlistAddRequest{ProductID: ids[0]}), nil)
	e.fail(a, contracts.MethodUserWishlistAdd, envl(contracts.WishlistAddRequest{ProductID: uuid.NewString()}), contracts.CodeNotFound)

	// A product deleted since is shown unavailable, not an error.
	fp.remove(ids[1])
	fp.mu.Lock()
	fp.calls = nil
	fp.mu.Unlock()
	var page1, page2 contracts.List[contracts.WishlistItem]
	e.ok(a, contracts.MethodUserWishlistList, envl(nil, "limit", "2"), &page1)
	if len(page1.Items) != 2 || page1.NextCursor == "" {
		t.Fatalf("page1 = %+v", page1)
	}
	if page1.Items[0].ProductID != ids[2] || page1.Items[0].Name != "desk" || page1.Items[0].Availability != contracts.WishlistAvailable {
		t.Fatalf("newest first: %+v", page1.Items[0])
	}
	if page1.Items[1].ProductID != ids[1] || page1.Items[1].Availability != contracts.WishlistUnavailable || page1.Items[1].Name != "" {
		t.Fatalf("deleted product: %+v", page1.Items[1])
	}
	e.ok(a, contracts.MethodUserWishlistList, envl(nil, "limit", "2", "cursor", page1.NextCursor), &page2)
	if len(page2.Items) != 1 || page2.Items[0].ProductID != ids[0] || page2.NextCursor != "" {
		t.Fatalf("page2 = %+v", page2)
	}
	fp.mu.Lock()
	if len(fp.calls) != 2 || len(fp.calls[0]) != 2 {
		t.Fatalf("lookups = %v, want one batched call per page", fp.calls)
	}
	fp.mu.Unlock()

	// Cross-user: B's wishlist is B's own.
	var bl contracts.List[contracts.WishlistItem]
	e.ok(b, contracts.MethodUserWishlistList, envl(nil), &bl)
	if len(bl.Items) != 0 {
		t.Fatalf("B sees %d entries", len(bl.Items))
	}
	e.fail(b, contracts.MethodUserWishlistRemove, envl(nil, "product_id", ids[0]), contracts.CodeNotFound)
	e.fail(anon, contracts.MethodUserWishlistList, envl(nil), contracts.CodeUnauthenticated)

	e.ok(a, contracts.MethodUserWishlistRemove, envl(nil, "product_id", ids[0]), nil)
	e.ok(a, contracts.MethodUserWishlistList, envl(nil), &page1)
	if len(page1.Items) != 2 {
		t.Fatalf("after remove = %d", len(page1.Items))
	}
	e.fail(a, contracts.MethodUserWishlistList, envl(nil, "cursor", "garbage!"), contracts.CodeInvalidArgument)
}

func TestWishlistWithoutProductService(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // nobody serves product.*
	a := actorOf(e.register("liz@example.com", "Liz", ""))
	pid := uuid.NewString()
	var it contracts.WishlistItem
	e.ok(a, contracts.MethodUserWishlistAdd, envl(contracts.WishlistAddRequest{ProductID: pid}), &it)
	if it.Availability != contracts.WishlistUnknown || it.ProductID != pid {
		t.Fatalf("added = %+v", it)
	}
	var l contracts.List[contracts.WishlistItem]
	e.ok(a, contracts.MethodUserWishlistList, envl(nil), &l)
	if len(l.Items) != 1 || l.Items[0].Availability != contracts.WishlistUnknown {
		t.Fatalf("list = %+v", l)
	}
}

func TestAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAdmin)
	adm := e.admin()
	cust := actorOf(e.register("mona@example.com", "Mona Lisa", ""))
	sell := actorOf(e.register("ned@shop.example.com", "Ned", contracts.RoleSeller))
	for i := 0; i < 4; i++ {
		e.register(uniqueEmail("bulk"), "Bulk User", "")
	}

	// Customers, sellers and anonymous callers are refused every admin method.
	for _, who := range []contracts.Actor{cust, sell, anon} {
		want := contracts.CodePermissionDenied
		if who == anon {
			want = contracts.CodeUnauthenticated
		}
		e.fail(who, contracts.MethodUserAdminList, envl(nil), want)
		e.fail(who, contracts.MethodUserAdminUpdate, envl(`{"role":"admin"}`, "id", who.ID), want)
		e.fail(who, contracts.MethodUserAdminRotateKey, envl(nil), want)
	}

	var l contracts.List[contracts.User]
	e.ok(adm, contracts.MethodUserAdminList, envl(nil, "q", "LISA"), &l)
	if len(l.Items) != 1 || l.Items[0].ID != cust.ID {
		t.Fatalf("search by name = %+v", l.Items)
	}
	e.ok(adm, contracts.MethodUserAdminList, envl(nil, "q", "shop.example"), &l)
	if len(l.Items) != 1 || l.Items[0].ID != sell.ID {
		t.Fatalf("search by email = %+v", l.Items)
	}
	e.ok(adm, contracts.MethodUserAdminList, envl(nil, "q", "%"), &l)
	if len(l.Items) != 0 {
		t.Fatalf("%% is a wildcard: %+v", l.Items)
	}
	// Keyset pages cover all 7 users exactly once.
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		params := []string{"limit", "3"}
		if cursor != "" {
			params = append(params, "cursor", cursor)
		}
		var l contracts.List[contracts.User] // fresh: next_cursor is omitted on the last page
		e.ok(adm, contracts.MethodUserAdminList, envl(nil, params...), &l)
		for _, u := range l.Items {
			if seen[u.ID] {
				t.Fatalf("user %s on two pages", u.ID)
			}
			seen[u.ID] = true
		}
		if cursor = l.NextCursor; cursor == "" || pages > 5 {
			break
		}
	}
	if len(seen) != 7 {
		t.Fatalf("pages held %d users, want 7", len(seen))
	}

	var got contracts.User
	e.ok(adm, contracts.MethodUserAdminUpdate, envl(`{"role":"seller"}`, "id", cust.ID), &got)
	if got.Role != contracts.RoleSeller {
		t.Fatalf("role = %q", got.Role)
	}
	// The new role shows in the next token.
	if tok := e.login("mona@example.com", goodPassword); tok.User.Role != contracts.RoleSeller {
		t.Fatalf("token user role = %q", tok.User.Role)
	}
	e.fail(adm, contracts.MethodUserAdminUpdate, envl(`{"role":"root"}`, "id", cust.ID), contracts.CodeInvalidArgument)
	e.fail(adm, contracts.MethodUserAdminUpdate, envl(`{"role":"customer"}`, "id", adm.ID), contracts.CodeFailedPrecondition)
	e.fail(adm, contracts.MethodUserAdminUpdate, envl(`{"disabled":true}`, "id", adm.ID), contracts.CodeFailedPrecondition)
	e.fail(adm, contracts.MethodUserAdminUpdate, envl(`{"disabled":true}`, "id", uuid.NewString()), contracts.CodeNotFound)

	// Bootstrap is idempotent and promotes an existing account.
	cfg := e.cfg
	cfg.Argon2 = testArgon2
	if _, err := user.BootstrapAdmin(t.Context(), e.svc.Pool(), cfg, adminEmail, adminPassword); err != nil {
		t.Fatal(err)
	}
	promoted, err := user.BootstrapAdmin(t.Context(), e.svc.Pool(), cfg, "ned@shop.example.com", "Whatever-Pass-1")
	if err != nil || promoted.Role != contracts.RoleAdmin || promoted.ID != sell.ID {
		t.Fatalf("promote = %+v, %v", promoted, err)
	}
	e.login("ned@shop.example.com", goodPassword) // password unchanged
	e.ok(adm, contracts.MethodUserAdminList, envl(nil, "q", "root@"), &l)
	if len(l.Items) != 1 {
		t.Fatalf("bootstrap admin duplicated: %d", len(l.Items))
	}
	if kid, err := user.RotateKey(t.Context(), e.svc.Pool(), e.cfg); err != nil || kid == "" {
		t.Fatalf("RotateKey = %q, %v", kid, err)
	}
}

func TestBadInputIsInvalidArgument(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	me := actorOf(e.register("olga@example.com", "Olga", ""))
	huge := strings.Repeat("x", 100_000)
	reg := func(body string) contracts.Envelope { return envl(body) }
	tests := []struct {
		name   string
		actor  contracts.Actor
		method string
		req    any
		field  string
	}{
		{"unknown field", anon, contracts.MethodUserRegister, reg(`{"email":"p@example.com","password":"Good-Pass-1","name":"P","admin":true}`), "admin"},
		{"wrong type", anon, contracts.MethodUserRegister, reg(`{"email":"p@example.com","password":12345678,"name":"P"}`), "password"},
		{"body not an object", anon, contracts.MethodUserLogin, reg(`["a"]`), ""},
		{"malformed envelope", anon, contracts.MethodUserLogin, `{"body":`, ""},
		{"envelope wrong type", anon, contracts.MethodUserLogin, `{"params":"x"}`, "params"},
		{"huge name", anon, contracts.MethodUserRegister, envl(contracts.RegisterRequest{Email: "p@example.com", Password: goodPassword, Name: huge}), "name"},
		{"huge password", anon, contracts.MethodUserRegister, envl(contracts.RegisterRequest{Email: "p@example.com", Password: "Aa1" + huge, Name: "P"}), "password"},
		{"huge email", anon, contracts.MethodUserRegister, envl(contracts.RegisterRequest{Email: huge + "@example.com", Password: goodPassword, Name: "P"}), "email"},
		{"huge login password", anon, contracts.MethodUserLogin, envl(contracts.LoginRequest{Email: "olga@example.com", Password: huge}), "password"},
		{"bad email", anon, contracts.MethodUserRegister, envl(contracts.RegisterRequest{Email: "not an email", Password: goodPassword, Name: "P"}), "email"},
		{"email without domain dot", anon, contracts.MethodUserRegister, envl(contracts.RegisterRequest{Email: "p@localhost", Password: goodPassword, Name: "P"}), "email"},
		{"short password", anon, contracts.MethodUserRegister, envl(contracts.RegisterRequest{Email: "p@example.com", Password: "Ab1", Name: "P"}), "password"},
		{"one-class password", anon, contracts.MethodUserRegister, envl(contracts.RegisterRequest{Email: "p@example.com", Password: "abcdefghijkl", Name: "P"}), "password"},
		{"common password", anon, contracts.MethodUserRegister, envl(contracts.RegisterRequest{Email: "p@example.com", Password: "Password123", Name: "P"}), "password"},
		{"admin role", anon, contracts.MethodUserRegister, envl(contracts.RegisterRequest{Email: "p@example.com", Password: goodPassword, Name: "P", Role: "admin"}), "role"},
		{"empty name", anon, contracts.MethodUserRegister, envl(contracts.RegisterRequest{Email: "p@example.com", Password: goodPassword, Name: "  "}), "name"},
		{"bad phone", anon, contracts.MethodUserRegister, envl(contracts.RegisterRequest{Email: "p@example.com", Password: goodPassword, Name: "P", Phone: "12"}), "phone"},
		{"missing body", anon, contracts.MethodUserRegister, envl(nil), "email"},
		{"address wrong type", me, contracts.MethodUserAddressesCreate, envl(`{"line1":1}`), "line1"},
		{"address bad country", me, contracts.MethodUserAddressesCreate, envl(contracts.AddressInput{Line1: "x", City: "y", PostalCode: "1", Country: "Narnia"}), "country"},
		{"address huge line", me, contracts.MethodUserAddressesCreate, envl(contracts.AddressInput{Line1: huge, City: "y", PostalCode: "1", Country: "US"}), "line1"},
		{"address bad id", me, contracts.MethodUserAddressesUpdate, envl(`{}`, "id", "1 OR 1=1"), "id"},
		{"wishlist bad product", me, contracts.MethodUserWishlistAdd, envl(contracts.WishlistAddRequest{ProductID: "nope"}), "product_id"},
		{"wishlist bad limit", me, contracts.MethodUserWishlistList, envl(nil, "limit", "many"), "limit"},
		{"password change unknown field", me, contracts.MethodUserPasswordChange, envl(`{"current_password":"a","new_password":"b","x":1}`), "x"},
		{"profile wrong type", me, contracts.MethodUserMeUpdate, envl(`{"name":["a"]}`), "name"},
		{"refresh wrong type", anon, contracts.MethodUserRefresh, envl(`{"refresh_token":true}`), "refresh_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.fail(tt.actor, tt.method, tt.req, contracts.CodeInvalidArgument)
			if tt.field != "" && got.Details["field"] != tt.field {
				t.Fatalf("details.field = %v, want %q (%s)", got.Details["field"], tt.field, got.Message)
			}
		})
	}
}

// A draft is hidden from everyone but its seller: the wishlist must neither
// accept one nor show its name, price or image (product.lookup reports
// drafts as existing, with their status).
func TestWishlistHidesDrafts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fp := &fakeProducts{items: map[string]contracts.LookupItem{}}
	fp.serve(t, e)
	a := actorOf(e.register("olga@example.com", "Olga", ""))

	draft := fp.add("secret-launch", 4200)
	fp.mu.Lock()
	it := fp.items[draft]
	it.Status = contracts.ProductDraft
	fp.items[draft] = it
	fp.mu.Unlock()
	e.fail(a, contracts.MethodUserWishlistAdd, envl(contracts.WishlistAddRequest{ProductID: draft}), contracts.CodeNotFound)

	// A product taken back to draft after it was added is unavailable.
	pid := fp.add("lamp", 1000)
	e.ok(a, contracts.MethodUserWishlistAdd, envl(contracts.WishlistAddRequest{ProductID: pid}), nil)
	fp.mu.Lock()
	it = fp.items[pid]
	it.Status, it.Name = contracts.ProductDraft, "lamp v2 (unreleased)"
	fp.items[pid] = it
	fp.mu.Unlock()
	var l contracts.List[contracts.WishlistItem]
	e.ok(a, contracts.MethodUserWishlistList, envl(nil), &l)
	if len(l.Items) != 1 || l.Items[0].Availability != contracts.WishlistUnavailable || l.Items[0].Name != "" || l.Items[0].Price != nil {
		t.Fatalf("draft in wishlist = %+v", l.Items)
	}
}
