package product

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"
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

func requireUser(actor contracts.Actor) error {
	if actor.ID == "" {
		return contracts.Unauthenticated("sign in first")
	}
	return nil
}

// maxRepliesShown bounds the replies embedded under each listed comment.
const maxRepliesShown = 50

// listComments is product.comments.list: top-level comments newest first,
// each with its first replies (oldest first).
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
	if _, err := visibleProduct(ctx, c.catalog, actor, id); err != nil {
		return nil, err
	}
	items, err := c.catalog.Comments(ctx, id, after, page.Limit+1)
	if err != nil {
		return nil, err
	}
	out := &contracts.List[contracts.Comment]{Items: items}
	if len(items) > page.Limit {
		out.Items = items[:page.Limit]
		l := out.Items[page.Limit-1]
		out.NextCursor = timeCursor{At: l.CreatedAt, ID: uuid.MustParse(l.ID)}.encode()
	}
	if len(out.Items) == 0 {
		out.Items = []contracts.Comment{}
		return out, nil
	}
	roots := make([]uuid.UUID, len(out.Items))
	index := make(map[string]int, len(out.Items))
	for i, cm := range out.Items {
		roots[i] = uuid.MustParse(cm.ID)
		index[cm.ID] = i
	}
	replies, err := c.catalog.Replies(ctx, roots, maxRepliesShown)
	if err != nil {
		return nil, err
	}
	for _, cm := range replies {
		i := index[*cm.ParentID]
		out.Items[i].Replies = append(out.Items[i].Replies, cm)
	}
	return out, nil
}

// createComment is product.comments.create (a comment or question on a
// product) and product.comments.reply (a reply to a comment: replying to
// a reply answers its root; a reply is never a question), with
// comment.created.
func (c *core) createComment(ctx context.Context, actor contracts.Actor, productStr, parentStr string, in contracts.CommentInput) (*contracts.Comment, error) {
	if err := requireUser(actor); err != nil {
		return nil, err
	}
	if err := validText("body", in.Body, 1, maxCommentBody); err != nil {
		return nil, err
	}
	var out contracts.Comment
	err := c.writeCatalog(ctx, func(tx catalogTx, ch *change) error {
		var err error
		out, err = addComment(ctx, tx, actor, productStr, parentStr, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// commentTarget resolves where a comment goes: the product, and for a
// reply the root comment and its author.
func commentTarget(ctx context.Context, tx catalogTx, productStr, parentStr string) (pid uuid.UUID, parent *uuid.UUID, parentUser string, err error) {
	if parentStr == "" {
		pid, err = parseID(productStr, "product")
		return pid, nil, "", err
	}
	cid, err := parseID(parentStr, "comment")
	if err != nil {
		return pid, nil, "", err
	}
	pid, root, parentUser, err := tx.Comment(ctx, cid)
	if err != nil {
		return pid, nil, "", err
	}
	if root != nil { // replying to a reply answers its root
		cid = *root
		if _, _, parentUser, err = tx.Comment(ctx, cid); err != nil {
			return pid, nil, "", err
		}
	}
	return pid, &cid, parentUser, nil
}

// addComment is createComment's transaction.
func addComment(ctx context.Context, tx catalogTx, actor contracts.Actor, productStr, parentStr string, in contracts.CommentInput) (contracts.Comment, error) {
	pid, parent, parentUser, err := commentTarget(ctx, tx, productStr, parentStr)
	if err != nil {
		return contracts.Comment{}, err
	}
	p, err := visibleProduct(ctx, tx, actor, pid)
	if err != nil {
		return contracts.Comment{}, err
	}
	cm := contracts.Comment{ID: newID().String(), ProductID: pid.String(), UserID: actor.ID, Body: in.Body,
		IsQuestion: in.IsQuestion && parent == nil, BySeller: actor.ID == p.SellerID}
	if parent != nil {
		s := parent.String()
		cm.ParentID = &s
	}
	out, err := tx.InsertComment(ctx, cm)
	if err != nil {
		return out, err
	}
	ev := contracts.CommentCreated{CommentID: out.ID, ProductID: pid.String(), ProductName: p.Name, SellerID: p.SellerID,
		UserID: actor.ID, IsQuestion: out.IsQuestion, IsReply: parent != nil, BySeller: out.BySeller}
	if parent != nil {
		ev.ParentID, ev.ParentUserID = parent.String(), parentUser
	}
	return out, tx.Event(ctx, contracts.EventCommentCreated, ev)
}

// deleteComment is product.comments.delete (its author or an admin); its
// replies go with it.
func (c *core) deleteComment(ctx context.Context, actor contracts.Actor, idStr string) error {
	if err := requireUser(actor); err != nil {
		return err
	}
	id, err := parseID(idStr, "comment")
	if err != nil {
		return err
	}
	return c.writeCatalog(ctx, func(tx catalogTx, ch *change) error {
		owner, err := tx.LockComment(ctx, id)
		if err != nil {
			return err
		}
		if !actor.Can(owner) {
			return contracts.PermissionDenied("only the comment's author or an admin may delete it")
		}
		return tx.DeleteComment(ctx, id)
	})
}

func validReaction(t string) error {
	if !slices.Contains(contracts.ReactionTypes, t) {
		return contracts.InvalidArgument("type", "type must be one of %v", contracts.ReactionTypes)
	}
	return nil
}

// setReaction is product.reactions.set: the reaction counts are in the
// product's document, so its cache is purged.
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
	err = c.writeCatalog(ctx, func(tx catalogTx, ch *change) error {
		p, err := visibleProduct(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if err := tx.AddReaction(ctx, id, actor.ID, in.Type); err != nil {
			return err
		}
		ch.product(id.String(), p.Slug)
		out.Counts, err = tx.ReactionCounts(ctx, id)
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
	return c.writeCatalog(ctx, func(tx catalogTx, ch *change) error {
		p, err := visibleProduct(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if err := tx.RemoveReactions(ctx, id, actor.ID, t); err != nil {
			return err
		}
		ch.product(id.String(), p.Slug)
		return nil
	})
}
