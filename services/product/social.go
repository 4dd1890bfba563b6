package product

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/opencommerce/opencommerce/contracts"
)

// timeCursor pages lists ordered by (created_at DESC, id DESC).
type timeCursor struct {
	At time.Time `json:"t"`
	ID uuid.UUID `json:"i"`
}

func (c timeCursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseTimeCursor(s string) (*timeCursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c timeCursor
	if err != nil || json.Unmarshal(b, &c) != nil || c.ID == uuid.Nil {
		return nil, contracts.InvalidArgument("cursor", "malformed cursor")
	}
	return &c, nil
}

// publicProduct loads what social features need of a product visible to
// actor (drafts are hidden from everyone but their seller and admins).
func publicProduct(ctx context.Context, q querier, actor contracts.Actor, id uuid.UUID, lock bool) (productRow, error) {
	sql := `SELECT ` + productCols + ` FROM products WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	p, err := scanProduct(q.QueryRow(ctx, sql, id))
	if isNoRows(err) || (err == nil && p.Status == contracts.ProductDraft && !actor.Can(p.SellerID)) {
		return p, contracts.NotFound("product")
	}
	return p, err
}

func requireUser(actor contracts.Actor) error {
	if actor.ID == "" {
		return contracts.Unauthenticated("sign in first")
	}
	return nil
}

const commentCols = `id, product_id, parent_id, user_id, body, is_question, by_seller, created_at`

func scanComment(row pgx.Row) (contracts.Comment, error) {
	var cm contracts.Comment
	var id, pid uuid.UUID
	var parent *uuid.UUID
	err := row.Scan(&id, &pid, &parent, &cm.UserID, &cm.Body, &cm.IsQuestion, &cm.BySeller, &cm.CreatedAt)
	cm.ID, cm.ProductID = id.String(), pid.String()
	if parent != nil {
		s := parent.String()
		cm.ParentID = &s
	}
	return cm, err
}

// maxRepliesShown bounds the replies embedded under each listed comment.
const maxRepliesShown = 50

func (c *core) listComments(ctx context.Context, actor contracts.Actor, idStr string, page contracts.Page) (*contracts.List[contracts.Comment], error) {
	id, err := parseID(idStr, "product")
	if err != nil {
		return nil, err
	}
	page = page.Normalize()
	after, err := parseTimeCursor(page.Cursor)
	if err != nil {
		return nil, err
	}
	if _, err := publicProduct(ctx, c.pool, actor, id, false); err != nil {
		return nil, err
	}
	sql := `SELECT ` + commentCols + ` FROM comments WHERE product_id = $1 AND parent_id IS NULL`
	args := []any{id}
	if after != nil {
		sql += ` AND (created_at, id) < ($2, $3)`
		args = append(args, after.At, after.ID)
	}
	rows, err := c.pool.Query(ctx, sql+` ORDER BY created_at DESC, id DESC LIMIT `+itoa(page.Limit+1), args...)
	if err != nil {
		return nil, err
	}
	out := &contracts.List[contracts.Comment]{Items: []contracts.Comment{}}
	for rows.Next() {
		cm, err := scanComment(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		if len(out.Items) == page.Limit {
			l := out.Items[len(out.Items)-1]
			out.NextCursor = timeCursor{At: l.CreatedAt, ID: uuid.MustParse(l.ID)}.encode()
			break
		}
		out.Items = append(out.Items, cm)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out.Items) == 0 {
		return out, nil
	}
	roots := make([]uuid.UUID, len(out.Items))
	index := map[string]int{}
	for i, cm := range out.Items {
		roots[i] = uuid.MustParse(cm.ID)
		index[cm.ID] = i
	}
	rows, err = c.pool.Query(ctx, `SELECT `+commentCols+` FROM (
		SELECT *, row_number() OVER (PARTITION BY parent_id ORDER BY created_at, id) AS n
		FROM comments WHERE parent_id = ANY($1)) r WHERE n <= $2 ORDER BY created_at, id`, roots, maxRepliesShown)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		cm, err := scanComment(rows)
		if err != nil {
			return nil, err
		}
		i := index[*cm.ParentID]
		out.Items[i].Replies = append(out.Items[i].Replies, cm)
	}
	return out, rows.Err()
}

func (c *core) createComment(ctx context.Context, actor contracts.Actor, productStr, parentStr string, in contracts.CommentInput) (*contracts.Comment, error) {
	if err := requireUser(actor); err != nil {
		return nil, err
	}
	if err := validText("body", in.Body, 1, maxCommentBody); err != nil {
		return nil, err
	}
	var out contracts.Comment
	err := c.write(ctx, func(tx pgx.Tx, ch *change) error {
		var pid uuid.UUID
		var parent *uuid.UUID
		var parentUser string
		if parentStr != "" {
			cid, err := parseID(parentStr, "comment")
			if err != nil {
				return err
			}
			var root *uuid.UUID
			err = tx.QueryRow(ctx, `SELECT product_id, parent_id, user_id FROM comments WHERE id = $1`, cid).Scan(&pid, &root, &parentUser)
			if isNoRows(err) {
				return contracts.NotFound("comment")
			}
			if err != nil {
				return err
			}
			if root != nil { // replying to a reply answers its root
				cid = *root
				if err := tx.QueryRow(ctx, `SELECT user_id FROM comments WHERE id = $1`, cid).Scan(&parentUser); err != nil {
					return err
				}
			}
			parent = &cid
			in.IsQuestion = false
		} else {
			var err error
			if pid, err = parseID(productStr, "product"); err != nil {
				return err
			}
		}
		p, err := publicProduct(ctx, tx, actor, pid, false)
		if err != nil {
			return err
		}
		out, err = scanComment(tx.QueryRow(ctx, `INSERT INTO comments (id, product_id, parent_id, user_id, body, is_question, by_seller)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+commentCols,
			newID(), pid, parent, actor.ID, in.Body, in.IsQuestion, actor.ID == p.SellerID))
		if err != nil {
			return err
		}
		ev := contracts.CommentCreated{CommentID: out.ID, ProductID: pid.String(), ProductName: p.Name, SellerID: p.SellerID,
			UserID: actor.ID, IsQuestion: out.IsQuestion, IsReply: parent != nil, BySeller: out.BySeller}
		if parent != nil {
			ev.ParentID, ev.ParentUserID = parent.String(), parentUser
		}
		return addEvent(ctx, tx, contracts.EventCommentCreated, ev)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *core) deleteComment(ctx context.Context, actor contracts.Actor, idStr string) error {
	if err := requireUser(actor); err != nil {
		return err
	}
	id, err := parseID(idStr, "comment")
	if err != nil {
		return err
	}
	return c.write(ctx, func(tx pgx.Tx, ch *change) error {
		var owner string
		err := tx.QueryRow(ctx, `SELECT user_id FROM comments WHERE id = $1 FOR UPDATE`, id).Scan(&owner)
		if isNoRows(err) {
			return contracts.NotFound("comment")
		}
		if err != nil {
			return err
		}
		if !actor.Can(owner) {
			return contracts.PermissionDenied("only the comment's author or an admin may delete it")
		}
		_, err = tx.Exec(ctx, `DELETE FROM comments WHERE id = $1`, id) // replies go with it
		return err
	})
}

func validReaction(t string) error {
	if !slices.Contains(contracts.ReactionTypes, t) {
		return contracts.InvalidArgument("type", "type must be one of %v", contracts.ReactionTypes)
	}
	return nil
}

func reactionCounts(ctx context.Context, q querier, id uuid.UUID) (map[string]int64, error) {
	rows, err := q.Query(ctx, `SELECT type, count(*) FROM reactions WHERE product_id = $1 GROUP BY type`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var t string
		var n int64
		if err := rows.Scan(&t, &n); err != nil {
			return nil, err
		}
		out[t] = n
	}
	return out, rows.Err()
}

func (c *core) setReaction(ctx context.Context, actor contracts.Actor, idStr string, in contracts.ReactionInput) (*contracts.ReactionReply, error) {
	if err := requireUser(actor); err != nil {
		return nil, err
	}
	id, err := parseID(idStr, "product")
	if err != nil {
		return nil, err
	}
	if err := validReaction(in.Type); err != nil {
		return nil, err
	}
	out := &contracts.ReactionReply{ProductID: id.String(), Type: in.Type}
	err = c.write(ctx, func(tx pgx.Tx, ch *change) error {
		p, err := publicProduct(ctx, tx, actor, id, false)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO reactions (product_id, user_id, type) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, id, actor.ID, in.Type); err != nil {
			return err
		}
		ch.product(id.String(), p.Slug)
		out.Counts, err = reactionCounts(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// removeReaction removes the actor's reaction of type t, or all of the
// actor's reactions on the product when t is empty. Removing what is not
// there succeeds (DELETE is idempotent).
func (c *core) removeReaction(ctx context.Context, actor contracts.Actor, idStr, t string) error {
	if err := requireUser(actor); err != nil {
		return err
	}
	id, err := parseID(idStr, "product")
	if err != nil {
		return err
	}
	if t != "" {
		if err := validReaction(t); err != nil {
			return err
		}
	}
	return c.write(ctx, func(tx pgx.Tx, ch *change) error {
		p, err := publicProduct(ctx, tx, actor, id, false)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM reactions WHERE product_id = $1 AND user_id = $2 AND ($3 = '' OR type = $3)`, id, actor.ID, t); err != nil {
			return err
		}
		ch.product(id.String(), p.Slug)
		return nil
	})
}

// forgetReviewImage removes a deleted file from the reviews that show it
// (reviews are read from the database, not cached: nothing to purge).
func forgetReviewImage(ctx context.Context, tx pgx.Tx, fileID uuid.UUID) error {
	_, err := tx.Exec(ctx, `UPDATE reviews SET image_file_ids = array_remove(image_file_ids, $1::uuid)
		WHERE image_file_ids @> ARRAY[$1::uuid]`, fileID)
	return err
}
