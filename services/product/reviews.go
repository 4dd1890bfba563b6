package product

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/opencommerce/opencommerce/contracts"
)

// Reviews: one per customer who bought the product (not its seller),
// moving the product's rating in the same transaction. The rule is
// checked before the review's images are published (they become public
// only on a review that will be accepted) and again in the transaction.

func validRating(r int) error {
	if r < 1 || r > 5 {
		return contracts.InvalidArgument("rating", "rating must be an integer from 1 to 5")
	}
	return nil
}

// notBought refuses a review from someone who did not buy the product.
func notBought() error {
	return contracts.PermissionDenied("only customers who bought this product can review it")
}

// alreadyReviewed refuses a second review of one product by one user.
func alreadyReviewed() error {
	return contracts.Errorf(contracts.CodeConflict, "you have already reviewed this product; edit your review instead")
}

// visibleProduct loads product id if actor may see it (drafts are hidden
// from everyone but their seller and admins).
func visibleProduct(ctx context.Context, r reviewReader, actor contracts.Actor, id uuid.UUID) (productRow, error) {
	p, err := r.Product(ctx, id)
	if err == nil && p.Status == contracts.ProductDraft && !actor.Can(p.SellerID) {
		return p, contracts.NotFound("product")
	}
	return p, err
}

// reviewReader is what may review a product: reviewReads outside a
// transaction, reviewTx inside one.
type reviewReader interface {
	Product(ctx context.Context, id uuid.UUID) (productRow, error)
	Bought(ctx context.Context, userID string, id uuid.UUID) (bool, error)
}

// mayReview applies the review rule: a product actor can see, not theirs,
// bought by them. It returns the product.
func mayReview(ctx context.Context, r reviewReader, actor contracts.Actor, id uuid.UUID) (productRow, error) {
	p, err := visibleProduct(ctx, r, actor, id)
	if err != nil {
		return p, err
	}
	if p.SellerID == actor.ID {
		return p, contracts.PermissionDenied("a product's seller cannot review it")
	}
	ok, err := r.Bought(ctx, actor.ID, id)
	if err == nil && !ok {
		err = notBought()
	}
	return p, err
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

// listReviews is product.reviews.list: newest first.
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
	if _, err := visibleProduct(ctx, c.catalog, actor, id); err != nil {
		return nil, err
	}
	items, err := c.catalog.Reviews(ctx, id, after, page.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &contracts.List[contracts.Review]{Items: items}
	if out.Items == nil {
		out.Items = []contracts.Review{}
	}
	if len(items) > page.Limit {
		out.Items = items[:page.Limit]
		l := out.Items[page.Limit-1]
		out.NextCursor = timeCursor{At: l.CreatedAt, ID: uuid.MustParse(l.ID)}.encode()
	}
	return out, nil
}

// validReview validates a new review; it returns its images.
func validReview(in contracts.ReviewInput) ([]uuid.UUID, error) {
	if err := validRating(in.Rating); err != nil {
		return nil, err
	}
	if err := validText("title", in.Title, 0, maxReviewTitle); err != nil {
		return nil, err
	}
	if err := validText("body", in.Body, 0, maxReviewBody); err != nil {
		return nil, err
	}
	return reviewImages(in.ImageFileIDs)
}

// createReview is product.reviews.create: the rule and the images
// published first, then the review and the product's rating in one
// transaction (the rule checked again), with product.updated and
// review.created.
func (c *core) createReview(ctx context.Context, actor contracts.Actor, idStr string, in contracts.ReviewInput) (*contracts.Review, error) {
	if err := requireUser(actor); err != nil {
		return nil, err
	}
	id, err := parseID(idStr, "product")
	if err != nil {
		return nil, err
	}
	images, err := validReview(in)
	if err != nil {
		return nil, err
	}
	if _, err := mayReview(ctx, c.catalog, actor, id); err != nil {
		return nil, err
	}
	if dup, err := c.catalog.HasReviewed(ctx, id, actor.ID); err != nil || dup {
		if err == nil {
			err = alreadyReviewed()
		}
		return nil, err
	}
	if err := c.publishImages(ctx, actor.ID, images); err != nil {
		return nil, err
	}
	var out contracts.Review
	err = c.writeCatalog(ctx, func(tx catalogTx, ch *change) error {
		out, err = addReview(ctx, tx, ch, actor, id, in, images)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// addReview is createReview's transaction.
func addReview(ctx context.Context, tx catalogTx, ch *change, actor contracts.Actor, id uuid.UUID, in contracts.ReviewInput, images []uuid.UUID) (contracts.Review, error) {
	if _, err := mayReview(ctx, tx, actor, id); err != nil {
		return contracts.Review{}, err
	}
	r, err := tx.InsertReview(ctx, contracts.Review{ID: newID().String(), ProductID: id.String(), UserID: actor.ID,
		Rating: in.Rating, Title: in.Title, Body: in.Body}, images)
	if errors.Is(err, errAlreadyReviewed) {
		return r, alreadyReviewed()
	}
	if err != nil {
		return r, err
	}
	p, err := tx.AddRating(ctx, id, int64(in.Rating), 1)
	if err != nil {
		return r, err
	}
	ch.product(id.String(), p.Slug)
	if err := tx.Event(ctx, contracts.EventProductUpdated, productEventOf(p)); err != nil {
		return r, err
	}
	return r, tx.Event(ctx, contracts.EventReviewCreated, contracts.ReviewCreated{
		ReviewID: r.ID, ProductID: id.String(), ProductName: p.Name, SellerID: p.SellerID,
		ReviewerID: actor.ID, Rating: in.Rating, Title: in.Title})
}

// mayEditReview is the ownership rule of a review: its author or an admin.
func mayEditReview(actor contracts.Actor, r contracts.Review) error {
	if !actor.Can(r.UserID) {
		return contracts.PermissionDenied("only the review's author or an admin may change it")
	}
	return nil
}

// lockOwnedReview locks review idStr and checks that actor may change it.
func lockOwnedReview(ctx context.Context, tx catalogTx, actor contracts.Actor, idStr string) (contracts.Review, error) {
	id, err := parseID(idStr, "review")
	if err != nil {
		return contracts.Review{}, err
	}
	r, err := tx.LockReview(ctx, id)
	if err != nil {
		return r, err
	}
	return r, mayEditReview(actor, r)
}

// validReviewPatch validates a review patch; it returns its images (nil
// when they do not change).
func validReviewPatch(in contracts.ReviewPatch) ([]uuid.UUID, error) {
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
	if in.ImageFileIDs == nil {
		return nil, nil
	}
	return reviewImages(*in.ImageFileIDs)
}

// updateReview is product.reviews.update: new images are published (as
// the author's: an admin may edit a review) before the transaction; a
// new rating moves the product's.
func (c *core) updateReview(ctx context.Context, actor contracts.Actor, idStr string, in contracts.ReviewPatch) (*contracts.Review, error) {
	if err := requireUser(actor); err != nil {
		return nil, err
	}
	images, err := validReviewPatch(in)
	if err != nil {
		return nil, err
	}
	if in.ImageFileIDs != nil {
		id, err := parseID(idStr, "review")
		if err != nil {
			return nil, err
		}
		r, err := c.catalog.Review(ctx, id)
		if err == nil {
			err = mayEditReview(actor, r)
		}
		if err != nil {
			return nil, err
		}
		if err := c.publishImages(ctx, r.UserID, images); err != nil {
			return nil, err
		}
	}
	var out contracts.Review
	err = c.writeCatalog(ctx, func(tx catalogTx, ch *change) error {
		out, err = patchReview(ctx, tx, ch, actor, idStr, in, images)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// patchReview is updateReview's transaction.
func patchReview(ctx context.Context, tx catalogTx, ch *change, actor contracts.Actor, idStr string, in contracts.ReviewPatch, images []uuid.UUID) (contracts.Review, error) {
	r, err := lockOwnedReview(ctx, tx, actor, idStr)
	if err != nil {
		return r, err
	}
	if in.ImageFileIDs != nil {
		if err := tx.SetReviewImages(ctx, uuid.MustParse(r.ID), images); err != nil {
			return r, err
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
	out, err := tx.SaveReview(ctx, r)
	if err != nil || r.Rating == old {
		return out, err
	}
	return out, ratingMoved(ctx, tx, ch, uuid.MustParse(r.ProductID), int64(r.Rating-old), 0)
}

// ratingMoved moves a product's rating and records the change.
func ratingMoved(ctx context.Context, tx catalogTx, ch *change, productID uuid.UUID, sum, count int64) error {
	p, err := tx.AddRating(ctx, productID, sum, count)
	if err != nil {
		return err
	}
	ch.product(productID.String(), p.Slug)
	return tx.Event(ctx, contracts.EventProductUpdated, productEventOf(p))
}

// deleteReview is product.reviews.delete: its rating leaves the
// product's.
func (c *core) deleteReview(ctx context.Context, actor contracts.Actor, idStr string) error {
	if err := requireUser(actor); err != nil {
		return err
	}
	return c.writeCatalog(ctx, func(tx catalogTx, ch *change) error {
		r, err := lockOwnedReview(ctx, tx, actor, idStr)
		if err != nil {
			return err
		}
		if err := tx.DeleteReview(ctx, uuid.MustParse(r.ID)); err != nil {
			return err
		}
		return ratingMoved(ctx, tx, ch, uuid.MustParse(r.ProductID), -int64(r.Rating), -1)
	})
}
