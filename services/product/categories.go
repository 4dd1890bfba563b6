package product

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
)

// categoryTree returns the root categories with their subtrees and the
// number of active products in each subtree. Served from the cache; built
// with two queries (the categories, and active products counted per direct
// category) and summed up the tree in memory.
func (c *core) categoryTree(ctx context.Context) ([]*contracts.Category, error) {
	if b := c.cache.tree(ctx); b != nil {
		var roots []*contracts.Category
		if json.Unmarshal(b, &roots) == nil {
			return roots, nil
		}
	}
	roots, err := c.buildTree(ctx)
	if err != nil {
		return nil, err
	}
	if b, err := json.Marshal(roots); err == nil {
		c.cache.setTree(ctx, b)
	}
	return roots, nil
}

// buildTree assembles the tree from the store's categories and adds the
// active products of each category to it and each of its ancestors.
func (c *core) buildTree(ctx context.Context) ([]*contracts.Category, error) {
	rows, counts, err := c.catalog.Categories(ctx)
	if err != nil {
		return nil, err
	}
	nodes := make(map[uuid.UUID]*contracts.Category, len(rows))
	parents := make(map[uuid.UUID]*uuid.UUID, len(rows))
	for _, r := range rows {
		cat := &contracts.Category{ID: r.ID.String(), Name: r.Name, Slug: r.Slug, Children: []*contracts.Category{},
			CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
		if r.ParentID != nil {
			s := r.ParentID.String()
			cat.ParentID = &s
		}
		nodes[r.ID], parents[r.ID] = cat, r.ParentID
	}
	for id, n := range counts {
		// Depth is small; a cycle cannot exist (moves are checked), but
		// bound the walk anyway.
		for cur, hops := &id, 0; cur != nil && hops < 1000; hops++ {
			node := nodes[*cur]
			if node == nil {
				break
			}
			node.ProductCount += n
			cur = parents[*cur]
		}
	}
	roots := []*contracts.Category{}
	for _, r := range rows { // ordered by name: children come out sorted
		node := nodes[r.ID]
		if p := parents[r.ID]; p != nil && nodes[*p] != nil {
			nodes[*p].Children = append(nodes[*p].Children, node)
		} else {
			roots = append(roots, node)
		}
	}
	return roots, nil
}

// category returns one category with its subtree.
func (c *core) category(ctx context.Context, id string) (*contracts.Category, error) {
	if _, err := parseID(id, "category"); err != nil {
		return nil, err
	}
	roots, err := c.categoryTree(ctx)
	if err != nil {
		return nil, err
	}
	var find func([]*contracts.Category) *contracts.Category
	find = func(list []*contracts.Category) *contracts.Category {
		for _, n := range list {
			if n.ID == id {
				return n
			}
			if f := find(n.Children); f != nil {
				return f
			}
		}
		return nil
	}
	if n := find(roots); n != nil {
		return n, nil
	}
	return nil, contracts.NotFound("category")
}

// requireAdmin is the rule of every category write.
func requireAdmin(actor contracts.Actor) error {
	if !actor.IsAdmin() {
		return contracts.PermissionDenied("only an admin manages categories")
	}
	return nil
}

// validCategory validates (and normalises) a new category; it returns its
// parent, nil for a root.
func validCategory(in *contracts.CategoryInput) (*uuid.UUID, error) {
	in.Name = categoryName(in.Name)
	if err := validText("name", in.Name, 1, maxNameLen); err != nil {
		return nil, err
	}
	if in.Slug != "" && !validSlug(in.Slug) {
		return nil, contracts.InvalidArgument("slug", "slug must be lower-case letters, digits and single dashes")
	}
	return parentOf(in.ParentID)
}

// parentOf parses a parent_id: absent or empty is a root (nil).
func parentOf(s *string) (*uuid.UUID, error) {
	if s == nil || *s == "" {
		return nil, nil
	}
	p, err := parseBodyID(*s, "parent_id")
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// parentPath is the path of a new parent, locked against deletion.
func parentPath(ctx context.Context, tx catalogTx, parent uuid.UUID) ([]uuid.UUID, error) {
	path, ok, err := tx.CategoryPath(ctx, parent)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, contracts.InvalidArgument("parent_id", "parent category not found")
	}
	return path, nil
}

// categoryConflictAnswer turns the store's conflicts into answers naming
// the field.
func categoryConflictAnswer(err error, name, slug string) error {
	switch {
	case errors.Is(err, errSlugTaken):
		return contracts.Errorf(contracts.CodeConflict, "category slug %q is taken", slug).WithDetail("field", "slug")
	case errors.Is(err, errSiblingName):
		return contracts.Errorf(contracts.CodeConflict,
			"a category named %q already exists there (sibling categories need different names, ignoring case)", name).
			WithDetail("field", "name")
	}
	return err
}

// createCategory is product.categories.create (admins only).
func (c *core) createCategory(ctx context.Context, actor contracts.Actor, in contracts.CategoryInput) (*contracts.Category, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	parent, err := validCategory(&in)
	if err != nil {
		return nil, err
	}
	row := categoryRow{ID: newID(), ParentID: parent, Name: in.Name, Slug: in.Slug}
	err = c.writeCatalog(ctx, func(tx catalogTx, ch *change) error {
		path := []uuid.UUID{}
		if parent != nil {
			if path, err = parentPath(ctx, tx, *parent); err != nil {
				return err
			}
		}
		if in.Slug == "" {
			if row.Slug, err = tx.FreeSlug(ctx, true, slugify(in.Name)); err != nil {
				return err
			}
		}
		if row.CreatedAt, err = tx.InsertCategory(ctx, row, append(path, row.ID)); err != nil {
			return categoryConflictAnswer(err, row.Name, row.Slug)
		}
		ch.categories = true
		return categoriesEvent(ctx, tx, row.ID, "created")
	})
	if err != nil {
		return nil, err
	}
	out := &contracts.Category{ID: row.ID.String(), Name: row.Name, Slug: row.Slug, Children: []*contracts.Category{},
		CreatedAt: row.CreatedAt, UpdatedAt: row.CreatedAt}
	if parent != nil {
		s := parent.String()
		out.ParentID = &s
	}
	return out, nil
}

// validCategoryPatch validates (and normalises) a category patch; it
// returns the new parent (nil for a root, or when unchanged).
func validCategoryPatch(in *contracts.CategoryPatch) (*uuid.UUID, error) {
	if in.Name != nil {
		n := categoryName(*in.Name)
		if err := validText("name", n, 1, maxNameLen); err != nil {
			return nil, err
		}
		in.Name = &n
	}
	if in.Slug != nil && !validSlug(*in.Slug) {
		return nil, contracts.InvalidArgument("slug", "slug must be lower-case letters, digits and single dashes")
	}
	return parentOf(in.ParentID)
}

// updateCategory is product.categories.update (admins only): rename,
// change the slug, or move under another parent (never under itself or
// its descendants); a move rewrites the paths of its subtree and their
// products.
func (c *core) updateCategory(ctx context.Context, actor contracts.Actor, idStr string, in contracts.CategoryPatch) (*contracts.Category, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	id, err := parseID(idStr, "category")
	if err != nil {
		return nil, err
	}
	newParent, err := validCategoryPatch(&in)
	if err != nil {
		return nil, err
	}
	err = c.writeCatalog(ctx, func(tx catalogTx, ch *change) error {
		if err := patchCategory(ctx, tx, id, newParent, in); err != nil {
			return err
		}
		ch.categories = true
		return categoriesEvent(ctx, tx, id, "updated")
	})
	if err != nil {
		return nil, err
	}
	return c.category(ctx, id.String())
}

// patchCategory is updateCategory's transaction.
func patchCategory(ctx context.Context, tx catalogTx, id uuid.UUID, newParent *uuid.UUID, in contracts.CategoryPatch) error {
	cur, err := tx.LockCategory(ctx, id)
	if err != nil {
		return err
	}
	name := cur.Name
	if in.Name != nil {
		name = *in.Name
	}
	if in.Slug != nil {
		if err := tx.SetCategorySlug(ctx, id, *in.Slug); err != nil {
			return categoryConflictAnswer(err, name, *in.Slug)
		}
	}
	switch {
	case in.ParentID != nil:
		newPath := []uuid.UUID{}
		if newParent != nil {
			if newPath, err = parentPath(ctx, tx, *newParent); err != nil {
				return err
			}
			if slices.Contains(newPath, id) {
				return contracts.InvalidArgument("parent_id", "a category cannot move under itself or its descendants")
			}
		}
		// cur.Path's length is the position of id in every descendant's
		// path (1-based).
		err = tx.MoveCategory(ctx, id, newParent, in.Name, append(newPath, id), len(cur.Path))
	case in.Name != nil:
		err = tx.RenameCategory(ctx, id, *in.Name)
	}
	return categoryConflictAnswer(err, name, "")
}

// deleteCategory is product.categories.delete (admins only): only an
// empty category (no sub-categories, no products) goes.
func (c *core) deleteCategory(ctx context.Context, actor contracts.Actor, idStr string) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	id, err := parseID(idStr, "category")
	if err != nil {
		return err
	}
	return c.writeCatalog(ctx, func(tx catalogTx, ch *change) error {
		cur, err := tx.LockCategory(ctx, id)
		if err != nil {
			return err
		}
		if cur.Children {
			return contracts.Errorf(contracts.CodeFailedPrecondition, "the category has sub-categories; move or delete them first")
		}
		if cur.Products {
			return contracts.Errorf(contracts.CodeFailedPrecondition, "products are attached to the category; move or delete them first")
		}
		if err := tx.DeleteCategory(ctx, id); err != nil {
			if errors.Is(err, errInUse) {
				return contracts.Errorf(contracts.CodeFailedPrecondition, "the category is in use")
			}
			return err
		}
		ch.categories = true
		return categoriesEvent(ctx, tx, id, "deleted")
	})
}

// categoryName normalises a category name's spaces (trimmed, runs of
// white space as one space), so that " Clothing" cannot pass for a new
// sibling of "Clothing".
func categoryName(s string) string { return strings.Join(strings.Fields(s), " ") }

// categoriesEvent writes product.categories_changed, which the gateway
// turns into a purge of its cached category tree.
func categoriesEvent(ctx context.Context, tx catalogTx, id uuid.UUID, change string) error {
	return tx.Event(ctx, contracts.EventCategoriesChanged, contracts.CategoriesChanged{CategoryID: id.String(), Change: change})
}
