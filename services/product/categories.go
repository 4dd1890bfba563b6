package product

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
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

func (c *core) buildTree(ctx context.Context) ([]*contracts.Category, error) {
	rows, err := c.pool.Query(ctx, `SELECT id, parent_id, name, slug, created_at, updated_at FROM categories ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("load categories: %w", err)
	}
	nodes := map[uuid.UUID]*contracts.Category{}
	parents := map[uuid.UUID]*uuid.UUID{}
	var order []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		var parent *uuid.UUID
		cat := &contracts.Category{Children: []*contracts.Category{}}
		if err := rows.Scan(&id, &parent, &cat.Name, &cat.Slug, &cat.CreatedAt, &cat.UpdatedAt); err != nil {
			rows.Close()
			return nil, err
		}
		cat.ID = id.String()
		if parent != nil {
			s := parent.String()
			cat.ParentID = &s
		}
		nodes[id], parents[id] = cat, parent
		order = append(order, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	counts, err := c.pool.Query(ctx, `SELECT category_id, count(*) FROM products WHERE status = 'active' GROUP BY category_id`)
	if err != nil {
		return nil, fmt.Errorf("count products: %w", err)
	}
	for counts.Next() {
		var id uuid.UUID
		var n int64
		if err := counts.Scan(&id, &n); err != nil {
			counts.Close()
			return nil, err
		}
		// Add n to the category and each ancestor. Depth is small; a cycle
		// cannot exist (moves are checked), but bound the walk anyway.
		for cur, hops := &id, 0; cur != nil && hops < 1000; hops++ {
			node := nodes[*cur]
			if node == nil {
				break
			}
			node.ProductCount += n
			cur = parents[*cur]
		}
	}
	if err := counts.Err(); err != nil {
		return nil, err
	}
	roots := []*contracts.Category{}
	for _, id := range order { // ordered by name: children come out sorted
		node := nodes[id]
		if p := parents[id]; p != nil && nodes[*p] != nil {
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

// uniqueSlug returns base or the first free base-N among slugs in table.
func uniqueSlug(ctx context.Context, tx pgx.Tx, table, base string) (string, error) {
	rows, err := tx.Query(ctx, `SELECT slug FROM `+table+` WHERE slug = $1 OR slug ~ ('^' || $1 || '-[0-9]+$')`, base)
	if err != nil {
		return "", err
	}
	taken, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	return nextSlug(base, taken), nil
}

func (c *core) createCategory(ctx context.Context, actor contracts.Actor, in contracts.CategoryInput) (*contracts.Category, error) {
	if !actor.IsAdmin() {
		return nil, contracts.PermissionDenied("only an admin manages categories")
	}
	in.Name = categoryName(in.Name)
	if err := validText("name", in.Name, 1, maxNameLen); err != nil {
		return nil, err
	}
	if in.Slug != "" && !validSlug(in.Slug) {
		return nil, contracts.InvalidArgument("slug", "slug must be lower-case letters, digits and single dashes")
	}
	var parent *uuid.UUID
	if in.ParentID != nil && *in.ParentID != "" {
		p, err := parseBodyID(*in.ParentID, "parent_id")
		if err != nil {
			return nil, err
		}
		parent = &p
	}
	id := newID()
	var out contracts.Category
	err := c.write(ctx, func(tx pgx.Tx, ch *change) error {
		path := []uuid.UUID{}
		if parent != nil {
			if err := tx.QueryRow(ctx, `SELECT path FROM categories WHERE id = $1 FOR SHARE`, *parent).Scan(&path); err != nil {
				if isNoRows(err) {
					return contracts.InvalidArgument("parent_id", "parent category not found")
				}
				return err
			}
		}
		slug := in.Slug
		if slug == "" {
			var err error
			if slug, err = uniqueSlug(ctx, tx, "categories", slugify(in.Name)); err != nil {
				return err
			}
		}
		var created time.Time
		err := tx.QueryRow(ctx, `INSERT INTO categories (id, parent_id, name, slug, path) VALUES ($1, $2, $3, $4, $5) RETURNING created_at`,
			id, parent, in.Name, slug, append(path, id)).Scan(&created)
		if err != nil {
			if code, cons := pgCode(err); code == "23505" && cons == "categories_slug_key" {
				return contracts.Errorf(contracts.CodeConflict, "category slug %q is taken", slug).WithDetail("field", "slug")
			}
			return siblingConflict(err, in.Name)
		}
		ch.categories = true
		if err := categoriesEvent(ctx, tx, id, "created"); err != nil {
			return err
		}
		out = contracts.Category{ID: id.String(), Name: in.Name, Slug: slug, Children: []*contracts.Category{}, CreatedAt: created, UpdatedAt: created}
		if parent != nil {
			s := parent.String()
			out.ParentID = &s
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *core) updateCategory(ctx context.Context, actor contracts.Actor, idStr string, in contracts.CategoryPatch) (*contracts.Category, error) {
	if !actor.IsAdmin() {
		return nil, contracts.PermissionDenied("only an admin manages categories")
	}
	id, err := parseID(idStr, "category")
	if err != nil {
		return nil, err
	}
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
	var newParent *uuid.UUID
	if in.ParentID != nil && *in.ParentID != "" {
		p, err := parseBodyID(*in.ParentID, "parent_id")
		if err != nil {
			return nil, err
		}
		newParent = &p
	}
	err = c.write(ctx, func(tx pgx.Tx, ch *change) error {
		var path []uuid.UUID
		var name string
		if err := tx.QueryRow(ctx, `SELECT path, name FROM categories WHERE id = $1 FOR UPDATE`, id).Scan(&path, &name); err != nil {
			if isNoRows(err) {
				return contracts.NotFound("category")
			}
			return err
		}
		if in.Name != nil {
			name = *in.Name
		}
		if in.Slug != nil {
			if _, err := tx.Exec(ctx, `UPDATE categories SET slug = $2, updated_at = now() WHERE id = $1`, id, *in.Slug); err != nil {
				if code, _ := pgCode(err); code == "23505" {
					return contracts.Errorf(contracts.CodeConflict, "category slug %q is taken", *in.Slug).WithDetail("field", "slug")
				}
				return err
			}
		}
		if in.ParentID != nil {
			newPath := []uuid.UUID{}
			if newParent != nil {
				var ppath []uuid.UUID
				if err := tx.QueryRow(ctx, `SELECT path FROM categories WHERE id = $1 FOR SHARE`, *newParent).Scan(&ppath); err != nil {
					if isNoRows(err) {
						return contracts.InvalidArgument("parent_id", "parent category not found")
					}
					return err
				}
				for _, a := range ppath {
					if a == id {
						return contracts.InvalidArgument("parent_id", "a category cannot move under itself or its descendants")
					}
				}
				newPath = ppath
			}
			newPath = append(newPath, id)
			depth := len(path) // position of id in every descendant's path (1-based)
			// Name and parent change in one statement, so that the
			// sibling-name index sees the category's final place.
			if _, err := tx.Exec(ctx, `UPDATE categories SET parent_id = $2, name = coalesce($3, name), updated_at = now() WHERE id = $1`,
				id, newParent, in.Name); err != nil {
				return siblingConflict(err, name)
			}
			if _, err := tx.Exec(ctx, `UPDATE categories SET path = $2::uuid[] || path[$3 + 1:] WHERE path @> ARRAY[$1::uuid]`, id, newPath, depth); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `UPDATE products p SET category_path = c.path FROM categories c WHERE p.category_id = c.id AND c.path @> ARRAY[$1::uuid]`, id)
			if err != nil {
				return err
			}
			_ = tag // documents cache category_id only, which did not change
		} else if in.Name != nil {
			if _, err := tx.Exec(ctx, `UPDATE categories SET name = $2, updated_at = now() WHERE id = $1`, id, *in.Name); err != nil {
				return siblingConflict(err, *in.Name)
			}
		}
		ch.categories = true
		if err := categoriesEvent(ctx, tx, id, "updated"); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c.category(ctx, id.String())
}

func (c *core) deleteCategory(ctx context.Context, actor contracts.Actor, idStr string) error {
	if !actor.IsAdmin() {
		return contracts.PermissionDenied("only an admin manages categories")
	}
	id, err := parseID(idStr, "category")
	if err != nil {
		return err
	}
	return c.write(ctx, func(tx pgx.Tx, ch *change) error {
		var exists, children, products bool
		err := tx.QueryRow(ctx, `SELECT true,
			EXISTS (SELECT 1 FROM categories WHERE parent_id = $1),
			EXISTS (SELECT 1 FROM products WHERE category_id = $1)
			FROM categories WHERE id = $1 FOR UPDATE`, id).Scan(&exists, &children, &products)
		if isNoRows(err) {
			return contracts.NotFound("category")
		}
		if err != nil {
			return err
		}
		if children {
			return contracts.Errorf(contracts.CodeFailedPrecondition, "the category has sub-categories; move or delete them first")
		}
		if products {
			return contracts.Errorf(contracts.CodeFailedPrecondition, "products are attached to the category; move or delete them first")
		}
		if _, err := tx.Exec(ctx, `DELETE FROM categories WHERE id = $1`, id); err != nil {
			if code, _ := pgCode(err); code == "23503" { // raced with a new product or child
				return contracts.Errorf(contracts.CodeFailedPrecondition, "the category is in use")
			}
			return err
		}
		ch.categories = true
		if err := categoriesEvent(ctx, tx, id, "deleted"); err != nil {
			return err
		}
		return nil
	})
}

// categoryName normalises a category name's spaces (trimmed, runs of
// white space as one space), so that " Clothing" cannot pass for a new
// sibling of "Clothing".
func categoryName(s string) string { return strings.Join(strings.Fields(s), " ") }

// siblingConflict turns a violation of the sibling-name index into a 409
// naming the clash; other errors pass through.
func siblingConflict(err error, name string) error {
	if code, cons := pgCode(err); code == "23505" && cons == "categories_sibling_name" {
		return contracts.Errorf(contracts.CodeConflict,
			"a category named %q already exists there (sibling categories need different names, ignoring case)", name).
			WithDetail("field", "name")
	}
	return err
}

// categoriesEvent writes product.categories_changed, which the gateway
// turns into a purge of its cached category tree.
func categoriesEvent(ctx context.Context, tx pgx.Tx, id uuid.UUID, change string) error {
	return addEvent(ctx, tx, contracts.EventCategoriesChanged, contracts.CategoriesChanged{CategoryID: id.String(), Change: change})
}
