package e2e_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestSiblingCategoryNamesAreUnique: two categories with the same parent
// (the roots are siblings too) cannot share a name, ignoring case, whether
// by create, rename or move; concurrent creates of one name give exactly
// one category; the same name under different parents is fine.
func TestSiblingCategoryNamesAreUnique(t *testing.T) {
	t.Parallel()
	env := startRoomy(t)
	c := newClient(t, env)
	adm := c.as(adminSession(c).Access)

	clothing := newCategory(adm, "Clothing", "")
	wantError(t, adm.do("POST", "/categories", map[string]any{"name": "Clothing"}), http.StatusConflict, "conflict")
	wantError(t, adm.do("POST", "/categories", map[string]any{"name": "  Clothing\t"}), http.StatusConflict, "conflict")
	msg := wantError(t, adm.do("POST", "/categories", map[string]any{"name": "cLoThInG"}), http.StatusConflict, "conflict")
	if !strings.Contains(msg, "already exists") {
		t.Errorf("conflict message %q does not say why", msg)
	}

	// Under different parents one name is fine.
	kids := newCategory(adm, "Kids", "")
	shirtsTop := newCategory(adm, "Shirts", clothing.ID)
	shirtsKids := newCategory(adm, "Shirts", kids.ID)
	wantError(t, adm.do("POST", "/categories", map[string]any{"name": "SHIRTS", "parent_id": kids.ID}), http.StatusConflict, "conflict")

	// Rename onto a sibling's name: refused; a change of case of its own
	// name is fine.
	shoes := newCategory(adm, "Shoes", clothing.ID)
	wantError(t, adm.do("PATCH", "/categories/"+shoes.ID, map[string]any{"name": "shirts"}), http.StatusConflict, "conflict")
	renamed := adm.must(http.StatusOK, "PATCH", "/categories/"+shoes.ID, map[string]any{"name": "SHOES"}).Map(t)
	if renamed["name"] != "SHOES" {
		t.Errorf("renamed category: %v", renamed)
	}

	// Move into a parent that has a child of that name: refused, also to
	// the root; a move with a rename that avoids the clash is fine.
	wantError(t, adm.do("PATCH", "/categories/"+shirtsKids.ID, map[string]any{"parent_id": clothing.ID}), http.StatusConflict, "conflict")
	newCategory(adm, "Shirts", "")
	wantError(t, adm.do("PATCH", "/categories/"+shirtsTop.ID, map[string]any{"parent_id": ""}), http.StatusConflict, "conflict")
	moved := adm.must(http.StatusOK, "PATCH", "/categories/"+shirtsKids.ID,
		map[string]any{"parent_id": clothing.ID, "name": "Kids' Shirts"}).Map(t)
	if moved["parent_id"] != clothing.ID || moved["name"] != "Kids' Shirts" {
		t.Errorf("moved category: %v", moved)
	}

	// Concurrent creates of one name under one parent: exactly one wins.
	const racers = 8
	statuses := make([]int, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			r, err := send(adm, "POST", "/categories", map[string]any{"name": "Hats", "parent_id": clothing.ID})
			if err != nil {
				t.Errorf("create %d: %v", i, err)
				return
			}
			statuses[i] = r.Status
		})
	}
	wg.Wait()
	created, conflicts := 0, 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
			conflicts++
		}
	}
	if created != 1 || conflicts != racers-1 {
		t.Fatalf("concurrent creates of one name: %v, want one 201 and %d 409", statuses, racers-1)
	}
	var tree struct{ Items []*category }
	c.must(http.StatusOK, "GET", "/categories", nil).JSON(t, &tree)
	hats := 0
	for _, ch := range findCategory(tree.Items, clothing.ID).Children {
		if strings.EqualFold(ch.Name, "hats") {
			hats++
		}
	}
	if hats != 1 {
		t.Fatalf("%d categories named Hats under Clothing, want 1", hats)
	}
}
