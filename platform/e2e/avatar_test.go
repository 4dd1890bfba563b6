package e2e_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
)

// TestAvatars: PATCH /users/me takes avatar_file_id, an image the caller
// uploaded with purpose avatar; the profile then shows it and anyone can
// download it (it was private until attached), while the same user's
// document stays private. Another user's file, another purpose, an unknown
// or malformed id are refused with a clear 4xx; "" removes the avatar.
func TestAvatars(t *testing.T) {
	t.Parallel()
	env := startFiles(t)
	c := newClient(t, env)
	anon := newClient(t, env)
	alice := c.as(signUp(c, "alice-avatar@example.com", "").Access)
	bob := c.as(signUp(c, "bob-avatar@example.com", "").Access)

	pic := uploadAs(alice, "avatar", "me.png", 7)
	doc := uploadAs(alice, "document", "passport.png", 8)
	anon.with(t).must(http.StatusNotFound, "GET", "/files/"+pic, nil) // not attached yet

	me := decode[contracts.User](t, alice.must(http.StatusOK, "PATCH", "/users/me", map[string]any{"avatar_file_id": pic}))
	if me.Avatar == nil || me.Avatar.FileID != pic || me.Avatar.URL != "/api/v1/files/"+pic {
		t.Fatalf("profile after setting the avatar: %+v", me.Avatar)
	}
	if got := decode[contracts.User](t, alice.must(http.StatusOK, "GET", "/users/me", nil)); got.Avatar == nil || got.Avatar.FileID != pic {
		t.Fatalf("GET /users/me avatar %+v", got.Avatar)
	}
	if r := anon.with(t).must(http.StatusOK, "GET", "/files/"+pic, nil); r.Header.Get("Content-Type") != "image/png" {
		t.Errorf("anonymous avatar download: %v", r.Header)
	}
	anon.with(t).must(http.StatusNotFound, "GET", "/files/"+doc, nil)
	bob.with(t).must(http.StatusNotFound, "GET", "/files/"+doc, nil)
	alice.with(t).must(http.StatusOK, "GET", "/files/"+doc, nil)

	// Refusals: nothing changes, nothing is published.
	bobPic := uploadAs(bob, "review_image", "bob.png", 9)
	wantError(t, bob.do("PATCH", "/users/me", map[string]any{"avatar_file_id": pic}), http.StatusForbidden, "permission_denied")
	wantError(t, alice.do("PATCH", "/users/me", map[string]any{"avatar_file_id": doc}), http.StatusBadRequest, "invalid_argument")
	wantError(t, bob.do("PATCH", "/users/me", map[string]any{"avatar_file_id": bobPic}), http.StatusBadRequest, "invalid_argument")
	wantError(t, bob.do("PATCH", "/users/me", map[string]any{"avatar_file_id": uuid.NewString()}), http.StatusBadRequest, "invalid_argument")
	wantError(t, bob.do("PATCH", "/users/me", map[string]any{"avatar_file_id": "not-a-file"}), http.StatusBadRequest, "invalid_argument")
	anon.with(t).must(http.StatusNotFound, "GET", "/files/"+doc, nil)
	anon.with(t).must(http.StatusNotFound, "GET", "/files/"+bobPic, nil)
	if got := decode[contracts.User](t, bob.must(http.StatusOK, "GET", "/users/me", nil)); got.Avatar != nil {
		t.Fatalf("bob has an avatar after refusals: %+v", got.Avatar)
	}

	// "" removes the avatar.
	if got := decode[contracts.User](t, alice.must(http.StatusOK, "PATCH", "/users/me", map[string]any{"avatar_file_id": ""})); got.Avatar != nil {
		t.Fatalf("avatar after removing it: %+v", got.Avatar)
	}

	// Deleting the avatar's file takes it off the profile (file.deleted).
	alice.must(http.StatusOK, "PATCH", "/users/me", map[string]any{"avatar_file_id": pic})
	alice.must(http.StatusNoContent, "DELETE", "/files/"+pic, nil)
	testenv.Eventually(t, "the deleted avatar leaves the profile", func() bool {
		return decode[contracts.User](t, alice.must(http.StatusOK, "GET", "/users/me", nil)).Avatar == nil
	})
}
