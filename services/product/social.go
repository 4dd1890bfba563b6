package product

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
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

func validRating(r int) error {
	if r < 1 || r > 5 {
		return contracts.InvalidArgument("rating", "rating must be an integer from 1 to 5")
	}
	return nil
}

const reviewCols = `id, product_id, user_id, rating, title, body, verified_purchase, image_file_ids, created_at, updated_at`

func scanReview(row pgx.Row) (contracts.Review, error) {
	var r contracts.Review
	var id, pid uuid.UUID
	var images []uuid.UUID
	err := row.Scan(&id, &pid, &r.UserID, &r.Rating, &r.Title, &r.Body, &r.VerifiedPurchase, &images, &r.CreatedAt, &r.UpdatedAt)
	r.ID, r.ProductID = id.String(), pid.String()
	r.Images = make([]contracts.Image, len(images))
	for i, f := range images {
		r.Images[i] = contracts.ImageOf(f.String())
	}
	return r, err
}

// notBought refuses a review from someone who did not buy the product.
func notBought() error {
	return contracts.PermissionDenied("only customers who bought this product can review it")
}

// alreadyReviewed refuses a second review of one product by one user.
func alreadyReviewed() error {
	return contracts.Errorf(contracts.CodeConflict, "you have already reviewed this product; edit your review instead")
}

// bought reports whether userID has a paid order holding the product: a
// reservation of theirs committed by order.paid (the service's own record
// of the sale; an order cancelled or refunded before shipping is
// "returned" and does not count).
func bought(ctx context.Context, q querier, userID string, productID uuid.UUID) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM reservations s JOIN reservation_lines l ON l.order_id = s.order_id
		WHERE s.user_id = $1 AND s.status = 'committed' AND l.product_id = $2)`, userID, productID).Scan(&ok)
	return ok, err
}

// reviewImages validates a review's image file ids: well-formed, no
// repeats, at most contracts.MaxReviewImages.
func reviewImages(ids []string) ([]uuid.UUID, error) {
	if len(ids) > contracts.MaxReviewImages {
		return nil, contracts.InvalidArgument("image_file_ids", "a review has at most %d images", contracts.MaxReviewImages)
	}
	out := make([]uuid.UUID, 0, len(ids))
	for i, s := range ids {
		f, err := parseBodyID(s, fmt.Sprintf("image_file_ids[%d]", i))
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, f) {
			return nil, contracts.InvalidArgument("image_file_ids", "image %s is given twice", s)
		}
		out = append(out, f)
	}
	return out, nil
}

// publishImages makes the author's review images public through the file
// service, which checks that each is the author's review_image and an
// image. It runs before the review's transaction (no RPC inside it).
func (c *core) publishImages(ctx context.Context, authorID string, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	if c.files == nil {
		return contracts.Errorf(contracts.CodeUnavailable, "the file service is not available")
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.FileTimeout)
	defer cancel()
	for _, id := range ids {
		if _, err := c.files.PublishFile(ctx, id.String(), authorID, contracts.PurposeReviewImage); err != nil {
			e := contracts.AsError(err)
			switch e.Code {
			case contracts.CodeNotFound:
				return contracts.InvalidArgument("image_file_ids", "file %s not found", id)
			case contracts.CodePermissionDenied:
				return contracts.PermissionDenied("file %s is not yours", id)
			case contracts.CodeInvalidArgument:
				return contracts.InvalidArgument("image_file_ids", "%s", e.Message)
			case contracts.CodeUnavailable, contracts.CodeDeadlineExceeded:
				return contracts.Errorf(contracts.CodeUnavailable, "the file service is unavailable; try again")
			}
			return fmt.Errorf("file.publish %s: %w", id, err)
		}
	}
	return nil
}

func (c *core) listReviews(ctx context.Context, actor contracts.Actor, idStr string, page contracts.Page) (*contracts.List[contracts.Review], error) {
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
	sql := `SELECT ` + reviewCols + ` FROM reviews WHERE product_id = $1`
	args := []any{id}
	if after != nil {
		sql += ` AND (created_at, id) < ($2, $3)`
		args = append(args, after.At, after.ID)
	}
	rows, err := c.pool.Query(ctx, sql+` ORDER BY created_at DESC, id DESC LIMIT `+itoa(page.Limit+1), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &contracts.List[contracts.Review]{Items: []contracts.Review{}}
	for rows.Next() {
		r, err := scanReview(rows)
		if err != nil {
			return nil, err
		}
		if len(out.Items) == page.Limit {
			l := out.Items[len(out.Items)-1]
			out.NextCursor = timeCursor{At: l.CreatedAt, ID: uuid.MustParse(l.ID)}.encode()
			break
		}
		out.Items = append(out.Items, r)
	}
	return out, rows.Err()
}

// createReview adds the actor's review and moves the product's rating sum
// and count in the same transaction (an atomic increment, so concurrent
// reviews keep the average exact).
func (c *core) createReview(ctx context.Context, actor contracts.Actor, idStr string, in contracts.ReviewInput) (*contracts.Review, error) {
	if err := requireUser(actor); err != nil {
		return nil, err
	}
	id, err := parseID(idStr, "product")
	if err != nil {
		return nil, err
	}
	if err := validRating(in.Rating); err != nil {
		return nil, err
	}
	if err := validText("title", in.Title, 0, maxReviewTitle); err != nil {
		return nil, err
	}
	if err := validText("body", in.Body, 0, maxReviewBody); err != nil {
		return nil, err
	}
	images, err := reviewImages(in.ImageFileIDs)
	if err != nil {
		return nil, err
	}
	// The rule, checked before the images are published (they become
	// public only on a review that will be accepted), and again below in
	// the transaction.
	p, err := publicProduct(ctx, c.pool, actor, id, false)
	if err != nil {
		return nil, err
	}
	if p.SellerID == actor.ID {
		return nil, contracts.PermissionDenied("a product's seller cannot review it")
	}
	if ok, err := bought(ctx, c.pool, actor.ID, id); err != nil || !ok {
		if err == nil {
			err = notBought()
		}
		return nil, err
	}
	var dup bool
	if err := c.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM reviews WHERE product_id = $1 AND user_id = $2)`, id, actor.ID).Scan(&dup); err != nil {
		return nil, err
	}
	if dup {
		return nil, alreadyReviewed()
	}
	if err := c.publishImages(ctx, actor.ID, images); err != nil {
		return nil, err
	}
	var out contracts.Review
	err = c.write(ctx, func(tx pgx.Tx, ch *change) error {
		p, err := publicProduct(ctx, tx, actor, id, false)
		if err != nil {
			return err
		}
		if p.SellerID == actor.ID {
			return contracts.PermissionDenied("a product's seller cannot review it")
		}
		if ok, err := bought(ctx, tx, actor.ID, id); err != nil || !ok {
			if err == nil {
				err = notBought()
			}
			return err
		}
		out, err = scanReview(tx.QueryRow(ctx, `INSERT INTO reviews (id, product_id, user_id, rating, title, body, verified_purchase, image_file_ids)
			VALUES ($1, $2, $3, $4, $5, $6, true, $7) RETURNING `+reviewCols, newID(), id, actor.ID, in.Rating, in.Title, in.Body, images))
		if code, cons := pgCode(err); code == "23505" && cons == "reviews_one_per_user" {
			return alreadyReviewed()
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE products SET rating_sum = rating_sum + $2, rating_count = rating_count + 1 WHERE id = $1`, id, in.Rating); err != nil {
			return err
		}
		ch.product(id.String(), p.Slug)
		if err := productEvent(ctx, tx, contracts.EventProductUpdated, p); err != nil {
			return err
		}
		return addEvent(ctx, tx, contracts.EventReviewCreated, contracts.ReviewCreated{
			ReviewID: out.ID, ProductID: id.String(), ProductName: p.Name, SellerID: p.SellerID,
			ReviewerID: actor.ID, Rating: in.Rating, Title: in.Title})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// lockReview loads a review FOR UPDATE and checks that actor owns it (or is
// an admin).
func lockReview(ctx context.Context, tx pgx.Tx, actor contracts.Actor, idStr string) (contracts.Review, error) {
	return getReview(ctx, tx, actor, idStr, ` FOR UPDATE`)
}

// loadReview is lockReview without the lock.
func loadReview(ctx context.Context, q querier, actor contracts.Actor, idStr string) (contracts.Review, error) {
	return getReview(ctx, q, actor, idStr, "")
}

func getReview(ctx context.Context, q querier, actor contracts.Actor, idStr, lock string) (contracts.Review, error) {
	id, err := parseID(idStr, "review")
	if err != nil {
		return contracts.Review{}, err
	}
	r, err := scanReview(q.QueryRow(ctx, `SELECT `+reviewCols+` FROM reviews WHERE id = $1`+lock, id))
	if isNoRows(err) {
		return r, contracts.NotFound("review")
	}
	if err != nil {
		return r, err
	}
	if !actor.Can(r.UserID) {
		return r, contracts.PermissionDenied("only the review's author or an admin may change it")
	}
	return r, nil
}

func (c *core) updateReview(ctx context.Context, actor contracts.Actor, idStr string, in contracts.ReviewPatch) (*contracts.Review, error) {
	if err := requireUser(actor); err != nil {
		return nil, err
	}
	if in.Rating != nil {
		if err := validRating(*in.Rating); err != nil {
			return nil, err
		}
	}
	if in.Title != nil {
		if err := validText("title", *in.Title, 0, maxReviewTitle); err != nil {
			return nil, err
		}
	}
	if in.Body != nil {
		if err := validText("body", *in.Body, 0, maxReviewBody); err != nil {
			return nil, err
		}
	}
	var images []uuid.UUID
	if in.ImageFileIDs != nil {
		var err error
		if images, err = reviewImages(*in.ImageFileIDs); err != nil {
			return nil, err
		}
		// The images must be the author's (an admin may edit a review);
		// they are published before the transaction.
		r, err := loadReview(ctx, c.pool, actor, idStr)
		if err != nil {
			return nil, err
		}
		if err := c.publishImages(ctx, r.UserID, images); err != nil {
			return nil, err
		}
	}
	var out contracts.Review
	err := c.write(ctx, func(tx pgx.Tx, ch *change) error {
		r, err := lockReview(ctx, tx, actor, idStr)
		if err != nil {
			return err
		}
		if in.ImageFileIDs != nil {
			if _, err := tx.Exec(ctx, `UPDATE reviews SET image_file_ids = $2 WHERE id = $1`, uuid.MustParse(r.ID), images); err != nil {
				return err
			}
		}
		old := r.Rating
		if in.Rating != nil {
			r.Rating = *in.Rating
		}
		if in.Title != nil {
			r.Title = *in.Title
		}
		if in.Body != nil {
			r.Body = *in.Body
		}
		out, err = scanReview(tx.QueryRow(ctx, `UPDATE reviews SET rating = $2, title = $3, body = $4, updated_at = now()
			WHERE id = $1 RETURNING `+reviewCols, uuid.MustParse(r.ID), r.Rating, r.Title, r.Body))
		if err != nil {
			return err
		}
		if r.Rating != old {
			var p productRow
			err := tx.QueryRow(ctx, `UPDATE products SET rating_sum = rating_sum + $2 WHERE id = $1
				RETURNING id, seller_id, slug, category_id, status, name`, uuid.MustParse(r.ProductID), r.Rating-old).
				Scan(&p.ID, &p.SellerID, &p.Slug, &p.CategoryID, &p.Status, &p.Name)
			if err != nil {
				return err
			}
			ch.product(r.ProductID, p.Slug)
			return productEvent(ctx, tx, contracts.EventProductUpdated, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (c *core) deleteReview(ctx context.Context, actor contracts.Actor, idStr string) error {
	if err := requireUser(actor); err != nil {
		return err
	}
	return c.write(ctx, func(tx pgx.Tx, ch *change) error {
		r, err := lockReview(ctx, tx, actor, idStr)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM reviews WHERE id = $1`, uuid.MustParse(r.ID)); err != nil {
			return err
		}
		var p productRow
		err = tx.QueryRow(ctx, `UPDATE products SET rating_sum = rating_sum - $2, rating_count = rating_count - 1 WHERE id = $1
			RETURNING id, seller_id, slug, category_id, status, name`, uuid.MustParse(r.ProductID), r.Rating).
			Scan(&p.ID, &p.SellerID, &p.Slug, &p.CategoryID, &p.Status, &p.Name)
		if err != nil {
			return err
		}
		ch.product(r.ProductID, p.Slug)
		return productEvent(ctx, tx, contracts.EventProductUpdated, p)
	})
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
