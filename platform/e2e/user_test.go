package e2e_test

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/opencommerce/opencommerce/platform"
	"github.com/opencommerce/opencommerce/platform/platformtest"
)

// Issue 4 through the gateway: every account flow against the real
// servers, and the security properties a storefront relies on.
func TestUserFlows(t *testing.T) {
	t.Parallel()
	env := startRoomy(t)

	t.Run("register, login, refresh rotation, reuse revokes the family, logout", func(t *testing.T) {
		c := newClient(t, env)
		s := signUp(c, "rota@example.com", "")
		if s.Role != "customer" || s.Email != "rota@example.com" {
			t.Fatalf("session = %+v", s)
		}
		// Duplicate emails are refused, case-insensitively; nobody registers as admin.
		for _, email := range []string{"rota@example.com", "ROTA@Example.com"} {
			wantError(t, c.do("POST", "/auth/register", map[string]string{"email": email, "password": testPassword, "name": "Again"}),
				http.StatusConflict, "conflict")
		}
		wantError(t, c.do("POST", "/auth/register", map[string]string{"email": "boss@example.com", "password": testPassword, "name": "Boss", "role": "admin"}),
			http.StatusBadRequest, "invalid_argument")

		// Rotation: each refresh gives a new pair; the new access token works.
		r1 := s.Refresh
		var t2 tokenReply
		rr := c.must(http.StatusOK, "POST", "/auth/refresh", map[string]string{"refresh_token": r1})
		noSecrets(t, rr)
		rr.JSON(t, &t2)
		if t2.RefreshToken == "" || t2.RefreshToken == r1 || t2.AccessToken == "" || t2.User.ID != s.ID {
			t.Fatalf("refresh answer = %s", rr.Body)
		}
		c.as(t2.AccessToken).must(http.StatusOK, "GET", "/users/me", nil)
		// Reusing the old token fails and revokes the family: the newer one stops working too.
		wantError(t, c.do("POST", "/auth/refresh", map[string]string{"refresh_token": r1}), http.StatusUnauthorized, "unauthenticated")
		wantError(t, c.do("POST", "/auth/refresh", map[string]string{"refresh_token": t2.RefreshToken}), http.StatusUnauthorized, "unauthenticated")
		// Garbage refresh tokens are 401 (or a clear 400), never 500.
		if r := c.do("POST", "/auth/refresh", map[string]string{"refresh_token": "nonsense"}); r.Status != 401 && r.Status != 400 {
			t.Errorf("garbage refresh token: %s", r)
		}

		// Another session is independent of the revoked family; logout ends it.
		s2 := signIn(c, "rota@example.com", testPassword)
		wantError(t, c.do("POST", "/auth/logout", map[string]string{"refresh_token": s2.Refresh}), http.StatusUnauthorized, "unauthenticated")
		c.as(s2.Access).must(http.StatusNoContent, "POST", "/auth/logout", map[string]string{"refresh_token": s2.Refresh})
		wantError(t, c.do("POST", "/auth/refresh", map[string]string{"refresh_token": s2.Refresh}), http.StatusUnauthorized, "unauthenticated")
	})

	t.Run("profile get and patch", func(t *testing.T) {
		c := newClient(t, env)
		s := signUp(c, "prof@example.com", "")
		me := c.as(s.Access)
		r := me.must(http.StatusOK, "GET", "/users/me", nil)
		noSecrets(t, r)
		m := r.Map(t)
		for _, k := range []string{"id", "email", "name", "phone", "role", "created_at"} {
			if _, ok := m[k]; !ok {
				t.Errorf("profile lacks %q: %s", k, r.Body)
			}
		}
		r = me.must(http.StatusOK, "PATCH", "/users/me", map[string]string{"name": "  Grace Hopper ", "phone": "+1 (555) 123-4567"})
		noSecrets(t, r)
		m = r.Map(t)
		if m["name"] != "Grace Hopper" || m["phone"] != "+15551234567" {
			t.Errorf("patched profile = %s", r.Body)
		}
		m = me.must(http.StatusOK, "GET", "/users/me", nil).Map(t)
		if m["name"] != "Grace Hopper" || m["phone"] != "+15551234567" || m["email"] != "prof@example.com" {
			t.Errorf("profile after patch = %v", m)
		}
		wantError(t, me.do("PATCH", "/users/me", map[string]string{"phone": "call me"}), http.StatusBadRequest, "invalid_argument")
		wantError(t, me.do("PATCH", "/users/me", map[string]string{"name": ""}), http.StatusBadRequest, "invalid_argument")
		// No self-promotion and no email change through the profile.
		for _, body := range []string{`{"role":"admin"}`, `{"email":"other@example.com"}`, `{"disabled":true}`} {
			wantError(t, me.do("PATCH", "/users/me", body), http.StatusBadRequest, "invalid_argument")
		}
		if m := me.must(http.StatusOK, "GET", "/users/me", nil).Map(t); m["role"] != "customer" || m["email"] != "prof@example.com" {
			t.Errorf("profile changed by refused patches: %v", m)
		}
	})

	t.Run("password change", func(t *testing.T) {
		c := newClient(t, env)
		s := signUp(c, "pw@example.com", "")
		me := c.as(s.Access)
		const newPW = "N3w-Secret-Phrase"
		wantError(t, me.do("PUT", "/users/me/password", map[string]string{"current_password": "Wrong-Passw0rd", "new_password": newPW}),
			http.StatusBadRequest, "invalid_argument")
		wantError(t, me.do("PUT", "/users/me/password", map[string]string{"current_password": testPassword, "new_password": "short"}),
			http.StatusBadRequest, "invalid_argument")
		me.must(http.StatusNoContent, "PUT", "/users/me/password", map[string]string{"current_password": testPassword, "new_password": newPW})
		// The old password no longer signs in, the new one does, and the
		// sessions started with the old password are over.
		wantError(t, c.do("POST", "/auth/login", map[string]string{"email": s.Email, "password": testPassword}), http.StatusUnauthorized, "unauthenticated")
		wantError(t, c.do("POST", "/auth/refresh", map[string]string{"refresh_token": s.Refresh}), http.StatusUnauthorized, "unauthenticated")
		signIn(c, s.Email, newPW)
	})

	t.Run("address book CRUD", func(t *testing.T) {
		c := newClient(t, env)
		me := c.as(signUp(c, "addr@example.com", "").Access)
		type address struct {
			ID, Line1, City, Country, PostalCode string
			IsDefault                            bool `json:"is_default"`
		}
		var home, work address
		me.must(http.StatusCreated, "POST", "/users/me/addresses", map[string]any{
			"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "us", "is_default": true,
		}).JSON(t, &home)
		if home.ID == "" || home.Country != "US" || !home.IsDefault {
			t.Fatalf("created address = %+v", home)
		}
		me.must(http.StatusCreated, "POST", "/users/me/addresses", map[string]any{
			"line1": "200 Office Park", "line2": "Suite 4", "city": "Shelbyville", "state": "IL", "postal_code": "62565", "country": "US",
		}).JSON(t, &work)
		var list struct{ Items []address }
		me.must(http.StatusOK, "GET", "/users/me/addresses", nil).JSON(t, fresh(&list))
		if len(list.Items) != 2 {
			t.Fatalf("addresses = %+v", list.Items)
		}
		// Update; making the second one default leaves exactly one default.
		var upd address
		me.must(http.StatusOK, "PATCH", "/users/me/addresses/"+work.ID, map[string]any{"city": "Capital City", "is_default": true}).JSON(t, &upd)
		if upd.City != "Capital City" || !upd.IsDefault || upd.Line1 != "200 Office Park" {
			t.Errorf("patched address = %+v", upd)
		}
		me.must(http.StatusOK, "GET", "/users/me/addresses", nil).JSON(t, fresh(&list))
		defaults := 0
		for _, a := range list.Items {
			if a.IsDefault {
				defaults++
				if a.ID != work.ID {
					t.Errorf("default is %s, want %s", a.ID, work.ID)
				}
			}
		}
		if defaults != 1 {
			t.Errorf("%d default addresses: %+v", defaults, list.Items)
		}
		// Bad input is a clear 400.
		wantError(t, me.do("POST", "/users/me/addresses", map[string]any{"line1": "x", "city": "y", "postal_code": "1", "country": "USA"}),
			http.StatusBadRequest, "invalid_argument")
		wantError(t, me.do("PATCH", "/users/me/addresses/not-a-uuid", map[string]any{"city": "x"}), http.StatusBadRequest, "invalid_argument")
		wantError(t, me.do("PATCH", "/users/me/addresses/"+home.ID, map[string]any{"city": ""}), http.StatusBadRequest, "invalid_argument")
		// Delete, then it is gone.
		me.must(http.StatusNoContent, "DELETE", "/users/me/addresses/"+home.ID, nil)
		wantError(t, me.do("DELETE", "/users/me/addresses/"+home.ID, nil), http.StatusNotFound, "not_found")
		me.must(http.StatusOK, "GET", "/users/me/addresses", nil).JSON(t, fresh(&list))
		if len(list.Items) != 1 || list.Items[0].ID != work.ID {
			t.Errorf("addresses after delete = %+v", list.Items)
		}
	})

	t.Run("wishlist shows product details; a deleted product is unavailable", func(t *testing.T) {
		c := newClient(t, env)
		adm := c.as(adminSession(c).Access)
		seller := c.as(signUp(c, "wish-seller@example.com", "seller").Access)
		me := c.as(signUp(c, "wisher@example.com", "").Access)
		cat := newCategory(adm, "Wish Shoes", "")
		p := newProduct(seller, "Trail Runner", cat.ID, 8999, 10)
		other := newProduct(seller, "Road Runner", cat.ID, 5999, 10)

		// A real image when the gateway serves uploads (it did not yet when
		// this test was written: then the image part is only logged).
		wantImage := ""
		if fid, r := uploadImage(seller); fid != "" {
			var img struct{ URL string }
			seller.must(http.StatusCreated, "POST", "/products/"+p.ID+"/images", map[string]string{"file_id": fid}).JSON(t, &img)
			wantImage = img.URL
		} else {
			t.Logf("uploads not served through the gateway yet (%s); wishlist image not checked", r)
		}

		type item struct {
			ProductID    string `json:"product_id"`
			Availability string
			Name         string
			Price        *money
			ImageURL     string `json:"image_url"`
		}
		var added item
		me.must(http.StatusCreated, "POST", "/users/me/wishlist", map[string]string{"product_id": p.ID}).JSON(t, &added)
		if added.ProductID != p.ID || added.Name != "Trail Runner" || added.Price == nil || added.Price.Amount != 8999 {
			t.Errorf("added = %+v", added)
		}
		me.must(http.StatusCreated, "POST", "/users/me/wishlist", map[string]string{"product_id": other.ID})
		wantError(t, me.do("POST", "/users/me/wishlist", map[string]string{"product_id": "0190a000-0000-7000-8000-000000000000"}),
			http.StatusNotFound, "not_found")
		wantError(t, me.do("POST", "/users/me/wishlist", map[string]string{"product_id": "shoe"}), http.StatusBadRequest, "invalid_argument")

		var list struct {
			Items      []item
			NextCursor string `json:"next_cursor"`
		}
		me.must(http.StatusOK, "GET", "/users/me/wishlist", nil).JSON(t, fresh(&list))
		if len(list.Items) != 2 {
			t.Fatalf("wishlist = %+v", list.Items)
		}
		byID := map[string]item{}
		for _, it := range list.Items {
			byID[it.ProductID] = it
		}
		got := byID[p.ID]
		if got.Availability != "available" || got.Name != "Trail Runner" || got.Price == nil || got.Price.Amount != 8999 || got.Price.Currency != "USD" {
			t.Errorf("wishlist entry = %+v", got)
		}
		if wantImage != "" && got.ImageURL != wantImage {
			t.Errorf("wishlist image = %q, want the first image %q", got.ImageURL, wantImage)
		}
		// Pages.
		me.must(http.StatusOK, "GET", "/users/me/wishlist?limit=1", nil).JSON(t, fresh(&list))
		if len(list.Items) != 1 || list.NextCursor == "" {
			t.Fatalf("first page = %+v", list)
		}
		first := list.Items[0].ProductID
		me.must(http.StatusOK, "GET", "/users/me/wishlist?limit=1&cursor="+list.NextCursor, nil).JSON(t, fresh(&list))
		if len(list.Items) != 1 || list.Items[0].ProductID == first {
			t.Errorf("second page = %+v", list)
		}

		// The seller deletes the product: the entry stays, shown unavailable.
		seller.must(http.StatusNoContent, "DELETE", "/products/"+p.ID, nil)
		me.must(http.StatusOK, "GET", "/users/me/wishlist", nil).JSON(t, fresh(&list))
		byID = map[string]item{}
		for _, it := range list.Items {
			byID[it.ProductID] = it
		}
		if g := byID[p.ID]; g.Availability != "unavailable" || g.Price != nil {
			t.Errorf("deleted product's entry = %+v", g)
		}
		if g := byID[other.ID]; g.Availability != "available" {
			t.Errorf("other entry = %+v", g)
		}
		// Remove.
		me.must(http.StatusNoContent, "DELETE", "/users/me/wishlist/"+p.ID, nil)
		me.must(http.StatusOK, "GET", "/users/me/wishlist", nil).JSON(t, fresh(&list))
		if len(list.Items) != 1 || list.Items[0].ProductID != other.ID {
			t.Errorf("wishlist after remove = %+v", list.Items)
		}
	})

	t.Run("admin search, role and disable; customers cannot reach admin routes", func(t *testing.T) {
		c := newClient(t, env)
		adminS := adminSession(c)
		adm := c.as(adminS.Access)
		var users []session
		for i := range 3 {
			users = append(users, signUp(c, "member"+strconv.Itoa(i)+"@search.example.com", ""))
		}
		cust := c.as(users[0].Access)

		// A customer (and an anonymous caller) cannot reach admin routes.
		wantError(t, cust.do("GET", "/admin/users", nil), http.StatusForbidden, "permission_denied")
		wantError(t, cust.do("PATCH", "/admin/users/"+users[0].ID, map[string]string{"role": "admin"}), http.StatusForbidden, "permission_denied")
		wantError(t, cust.do("POST", "/categories", map[string]string{"name": "Mine"}), http.StatusForbidden, "permission_denied")
		wantError(t, c.do("GET", "/admin/users", nil), http.StatusUnauthorized, "unauthenticated")

		// Search, paged with next_cursor.
		var page struct {
			Items []struct {
				ID, Email, Role string
				Disabled        bool
			}
			NextCursor string `json:"next_cursor"`
		}
		r := adm.must(http.StatusOK, "GET", "/admin/users"+query("q", "search.example.com"), nil)
		noSecrets(t, r)
		r.JSON(t, fresh(&page))
		if len(page.Items) != 3 {
			t.Fatalf("search = %s", r.Body)
		}
		seen := map[string]bool{}
		cursor := ""
		for range 5 {
			q := query("q", "SEARCH.example", "limit", "2", "cursor", cursor)
			adm.must(http.StatusOK, "GET", "/admin/users"+q, nil).JSON(t, fresh(&page))
			for _, u := range page.Items {
				if seen[u.ID] {
					t.Errorf("user %s on two pages", u.ID)
				}
				seen[u.ID] = true
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if len(seen) != 3 {
			t.Errorf("paged search found %d users", len(seen))
		}
		wantError(t, adm.do("GET", "/admin/users?limit=zero", nil), http.StatusBadRequest, "invalid_argument")

		// Role change: the customer becomes a seller at the next sign-in.
		r = adm.must(http.StatusOK, "PATCH", "/admin/users/"+users[1].ID, map[string]string{"role": "seller"})
		noSecrets(t, r)
		if m := r.Map(t); m["role"] != "seller" {
			t.Errorf("role change answer = %s", r.Body)
		}
		if s := signIn(c, users[1].Email, testPassword); s.Role != "seller" {
			t.Errorf("signed in as %q after promotion", s.Role)
		}
		wantError(t, adm.do("PATCH", "/admin/users/"+users[1].ID, map[string]string{"role": "root"}), http.StatusBadRequest, "invalid_argument")
		wantError(t, adm.do("PATCH", "/admin/users/0190a000-0000-7000-8000-000000000000", map[string]string{"role": "seller"}), http.StatusNotFound, "not_found")
		// The admin cannot lock themself out.
		wantError(t, adm.do("PATCH", "/admin/users/"+adminS.ID, map[string]any{"disabled": true}), http.StatusConflict, "failed_precondition")

		// Disable: refresh fails at once, login is refused; re-enable restores login.
		victim := users[2]
		adm.must(http.StatusOK, "PATCH", "/admin/users/"+victim.ID, map[string]any{"disabled": true})
		if r := c.do("POST", "/auth/refresh", map[string]string{"refresh_token": victim.Refresh}); r.Status != 401 && r.Status != 403 {
			t.Errorf("disabled user's refresh: %s", r)
		}
		if r := c.do("POST", "/auth/login", map[string]string{"email": victim.Email, "password": testPassword}); r.Status != 403 && r.Status != 401 {
			t.Errorf("disabled user's login: %s", r)
		}
		adm.must(http.StatusOK, "PATCH", "/admin/users/"+victim.ID, map[string]any{"disabled": false})
		signIn(c, victim.Email, testPassword)
	})

	t.Run("a user never reads or changes another user's data", func(t *testing.T) {
		c := newClient(t, env)
		adm := c.as(adminSession(c).Access)
		sellerS := signUp(c, "iso-seller@example.com", "seller")
		seller := c.as(sellerS.Access)
		aS := signUp(c, "alice@iso.example.com", "")
		bS := signUp(c, "bob@iso.example.com", "")
		alice, bob := c.as(aS.Access), c.as(bS.Access)
		p := newProduct(seller, "Iso Lamp", newCategory(adm, "Iso Lamps", "").ID, 2500, 3)

		var addr struct{ ID string }
		alice.must(http.StatusCreated, "POST", "/users/me/addresses", map[string]any{
			"line1": "7 Secret Rd", "city": "Hidden", "postal_code": "99999", "country": "DE"}).JSON(t, &addr)
		alice.must(http.StatusCreated, "POST", "/users/me/wishlist", map[string]string{"product_id": p.ID})

		// Bob cannot change or delete Alice's address, nor see it.
		wantError(t, bob.do("PATCH", "/users/me/addresses/"+addr.ID, map[string]string{"city": "Bobville"}), http.StatusNotFound, "not_found")
		wantError(t, bob.do("DELETE", "/users/me/addresses/"+addr.ID, nil), http.StatusNotFound, "not_found")
		if r := bob.must(http.StatusOK, "GET", "/users/me/addresses", nil); strings.Contains(string(r.Body), addr.ID) {
			t.Errorf("bob sees alice's address: %s", r.Body)
		}
		// Bob's wishlist is his own; removing Alice's entry from "his" list changes nothing of hers.
		if r := bob.must(http.StatusOK, "GET", "/users/me/wishlist", nil); strings.Contains(string(r.Body), p.ID) {
			t.Errorf("bob sees alice's wishlist: %s", r.Body)
		}
		if r := bob.do("DELETE", "/users/me/wishlist/"+p.ID, nil); r.Status != 204 && r.Status != 404 {
			t.Errorf("bob removing a product he never listed: %s", r)
		}
		// Identity headers are ignored: Bob stays Bob, an anonymous caller stays anonymous.
		for _, h := range []string{"X-Actor-Id", "X-User-Id", "X-Forwarded-User"} {
			if m := bob.must(http.StatusOK, "GET", "/users/me", nil, h, aS.ID, "X-Actor-Role", "admin").Map(t); m["id"] != bS.ID {
				t.Errorf("with %s: profile of %v", h, m["id"])
			}
			wantError(t, c.do("GET", "/users/me", nil, h, aS.ID), http.StatusUnauthorized, "unauthenticated")
		}
		// A forged token (Bob's, with the payload claiming Alice as admin) is refused.
		parts := strings.Split(bS.Access, ".")
		if len(parts) == 3 {
			raw, err := base64.RawURLEncoding.DecodeString(parts[1])
			if err == nil {
				forged := strings.Replace(strings.Replace(string(raw), bS.ID, aS.ID, 1), `"customer"`, `"admin"`, 1)
				parts[1] = base64.RawURLEncoding.EncodeToString([]byte(forged))
				wantError(t, c.as(strings.Join(parts, ".")).do("GET", "/users/me", nil), http.StatusUnauthorized, "unauthenticated")
			}
		}
		// There is no route to another user's profile.
		if r := bob.do("GET", "/users/"+aS.ID, nil); r.Status < 400 || r.Status >= 500 || strings.Contains(string(r.Body), aS.Email) {
			t.Errorf("GET /users/{alice}: %s", r)
		}
		if r := bob.do("PATCH", "/users/"+aS.ID, map[string]string{"name": "Hacked"}); r.Status < 400 || r.Status >= 500 {
			t.Errorf("PATCH /users/{alice}: %s", r)
		}
		// Alice's data is untouched.
		var list struct{ Items []struct{ ID, City string } }
		alice.must(http.StatusOK, "GET", "/users/me/addresses", nil).JSON(t, fresh(&list))
		if len(list.Items) != 1 || list.Items[0].City != "Hidden" {
			t.Errorf("alice's addresses = %+v", list.Items)
		}
		if r := alice.must(http.StatusOK, "GET", "/users/me/wishlist", nil); !strings.Contains(string(r.Body), p.ID) {
			t.Errorf("alice's wishlist lost its entry: %s", r.Body)
		}
		if m := alice.must(http.StatusOK, "GET", "/users/me", nil).Map(t); m["name"] == "Hacked" {
			t.Errorf("alice's profile changed: %v", m)
		}
	})

	t.Run("unknown email and wrong password answer alike", func(t *testing.T) {
		c := newClient(t, env)
		signUp(c, "same@example.com", "")
		wrong := c.do("POST", "/auth/login", map[string]string{"email": "same@example.com", "password": "Not-The-Passw0rd"})
		unknown := c.do("POST", "/auth/login", map[string]string{"email": "nobody@example.com", "password": "Not-The-Passw0rd"})
		wantError(t, wrong, http.StatusUnauthorized, "unauthenticated")
		if wrong.Status != unknown.Status || string(wrong.Body) != string(unknown.Body) {
			t.Errorf("answers differ:\n wrong password: %s\n unknown email:  %s", wrong, unknown)
		}
	})

	t.Run("malformed JSON, unknown fields, huge strings and wrong types are 400", func(t *testing.T) {
		c := newClient(t, env)
		me := c.as(signUp(c, "fuzzy@example.com", "").Access)
		huge := strings.Repeat("a", 20_000)
		cases := []struct {
			name   string
			cl     *client
			method string
			path   string
			body   string
			field  string // expected in the message, if any
		}{
			{"register unknown field", c, "POST", "/auth/register", `{"email":"u1@example.com","password":"` + testPassword + `","name":"U","is_admin":true}`, "is_admin"},
			{"register wrong type", c, "POST", "/auth/register", `{"email":123,"password":"` + testPassword + `","name":"U"}`, "email"},
			{"register huge name", c, "POST", "/auth/register", `{"email":"u2@example.com","password":"` + testPassword + `","name":"` + huge + `"}`, "name"},
			{"register huge email", c, "POST", "/auth/register", `{"email":"` + huge + `@example.com","password":"` + testPassword + `","name":"U"}`, "email"},
			{"register huge password", c, "POST", "/auth/register", `{"email":"u3@example.com","password":"A1` + huge + `","name":"U"}`, "password"},
			{"login huge password", c, "POST", "/auth/login", `{"email":"fuzzy@example.com","password":"` + huge + `"}`, "password"},
			{"login array", c, "POST", "/auth/login", `["fuzzy@example.com"]`, ""},
			{"login malformed", c, "POST", "/auth/login", `{"email":`, ""},
			{"login null password", c, "POST", "/auth/login", `{"email":"fuzzy@example.com","password":null}`, "password"},
			{"refresh wrong type", c, "POST", "/auth/refresh", `{"refresh_token":["a"]}`, "refresh_token"},
			{"profile wrong type", me, "PATCH", "/users/me", `{"name":42}`, "name"},
			{"profile unknown field", me, "PATCH", "/users/me", `{"nickname":"x"}`, "nickname"},
			{"profile huge name", me, "PATCH", "/users/me", `{"name":"` + huge + `"}`, "name"},
			{"address wrong type", me, "POST", "/users/me/addresses", `{"line1":"1 Main","city":"X","postal_code":12345,"country":"US"}`, "postal_code"},
			{"address huge line", me, "POST", "/users/me/addresses", `{"line1":"` + huge + `","city":"X","postal_code":"1","country":"US"}`, "line1"},
			{"wishlist wrong type", me, "POST", "/users/me/wishlist", `{"product_id":{"id":1}}`, "product_id"},
			{"password wrong type", me, "PUT", "/users/me/password", `{"current_password":true,"new_password":"x"}`, "current_password"},
		}
		for _, tc := range cases {
			r := tc.cl.do(tc.method, tc.path, tc.body)
			noSecrets(t, r)
			msg := wantError(t, r, http.StatusBadRequest, "invalid_argument")
			if tc.field != "" && msg != "" && !strings.Contains(string(r.Body), tc.field) {
				t.Errorf("%s: the answer does not name %q: %s", tc.name, tc.field, r.Body)
			}
			if t.Failed() {
				t.Logf("case %s", tc.name)
			}
		}
		// Bodies over the route's limit are refused by the gateway with 413, not 500.
		big := `{"email":"u4@example.com","password":"` + testPassword + `","name":"` + strings.Repeat("b", 200_000) + `"}`
		wantError(t, c.do("POST", "/auth/register", big), http.StatusRequestEntityTooLarge, "payload_too_large")
		// The wrong Content-Type is refused too.
		if r := c.do("POST", "/auth/login", `{"email":"fuzzy@example.com","password":"x"}`, "Content-Type", "text/plain"); r.Status != http.StatusUnsupportedMediaType {
			t.Errorf("text/plain login: %s", r)
		}
	})
}

// Issue 4: failed logins are limited per account and per IP with 429 and
// Retry-After. The gateway trusts 127.0.0.1 as a proxy here so each
// attempt can come from its own client IP (X-Forwarded-For): that shows
// the user service's own limits behind the gateway's login rate class.
func TestUserLoginRateLimits(t *testing.T) {
	t.Parallel()
	env := platformtest.Start(t, platformtest.Options{Tweak: func(c *platform.Config) {
		c.Services.Gateway.TrustedProxies = []string{"127.0.0.1/32", "::1/128"}
		c.Services.User.LoginIPFailures = 3 // below the gateway's per-IP burst of 5
		// The account limit counts failures from IPs the account does not
		// know (every attacker IP below); 5 keeps this test short.
		c.Services.User.LoginAccountFailures = 5
	}})
	c := newClient(t, env)
	ip := func(n int) []string { return []string{"X-Forwarded-For", "198.51.100." + strconv.Itoa(n)} }
	victim := signUp(c, "victim@example.com", "", ip(1)...)
	bystander := signUp(c, "bystander@example.com", "", ip(2)...)

	retryAfter := func(t *testing.T, r response) {
		t.Helper()
		n, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || n < 1 {
			t.Errorf("429 without a usable Retry-After header (%q): %s", r.Header.Get("Retry-After"), r)
		}
	}

	t.Run("gateway login class per IP", func(t *testing.T) {
		c := newClient(t, env)
		var last response
		for i := range 12 {
			last = c.do("POST", "/auth/register", map[string]string{"email": "flood" + strconv.Itoa(i) + "@example.com",
				"password": testPassword, "name": "Flood"}, ip(50)...)
			if last.Status == http.StatusTooManyRequests {
				break
			}
		}
		wantError(t, last, http.StatusTooManyRequests, "resource_exhausted")
		retryAfter(t, last)
		// Another IP is not affected.
		signIn(c, bystander.Email, testPassword, ip(51)...)
	})

	t.Run("per account in the user service", func(t *testing.T) {
		c := newClient(t, env)
		var last response
		attempts := 0
		for i := range 10 {
			attempts++
			last = c.do("POST", "/auth/login", map[string]string{"email": victim.Email, "password": "Guess-" + strconv.Itoa(i) + "x"}, ip(100+i)...)
			if last.Status == http.StatusTooManyRequests {
				break
			}
			wantError(t, last, http.StatusUnauthorized, "unauthenticated")
		}
		if attempts != 6 {
			t.Errorf("429 after %d attempts from distinct IPs, want after 5 failures", attempts)
		}
		msg := wantError(t, last, http.StatusTooManyRequests, "resource_exhausted")
		if !strings.Contains(msg, "sign-in") {
			t.Errorf("429 did not come from the account limit: %s", last)
		}
		if !strings.Contains(string(last.Body), "retry_after") {
			t.Errorf("account-limit answer lacks details.retry_after: %s", last)
		}
		retryAfter(t, last)
		// Even the right password is refused from an IP the account does not know…
		wantError(t, c.do("POST", "/auth/login", map[string]string{"email": victim.Email, "password": testPassword}, ip(120)...),
			http.StatusTooManyRequests, "resource_exhausted")
		// …but other accounts sign in as usual.
		signIn(c, bystander.Email, testPassword, ip(121)...)
	})

	t.Run("per IP in the user service", func(t *testing.T) {
		c := newClient(t, env)
		var last response
		attempts := 0
		for i := range 5 {
			attempts++
			last = c.do("POST", "/auth/login", map[string]string{"email": "ghost" + strconv.Itoa(i) + "@example.com", "password": "Guess-Passw0rd"}, ip(200)...)
			if last.Status == http.StatusTooManyRequests {
				break
			}
		}
		if attempts != 4 {
			t.Errorf("429 after %d attempts from one IP, want after 3 failures", attempts)
		}
		msg := wantError(t, last, http.StatusTooManyRequests, "resource_exhausted")
		if !strings.Contains(msg, "sign-in") {
			t.Errorf("429 did not come from the service's IP limit: %s", last)
		}
		retryAfter(t, last)
		// The same account from another IP is fine.
		signIn(c, bystander.Email, testPassword, ip(201)...)
	})
}
