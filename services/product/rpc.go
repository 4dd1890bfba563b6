package product

import (
	"context"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
)

// empty is the reply of methods answered 204 by the gateway.
var empty = struct{}{}

// routed adapts a handler of a gateway-routed method: it decodes the
// envelope and hands over its params, the client's body and the actor.
func routed(fn func(ctx context.Context, a contracts.Actor, p contracts.Params, body []byte) (any, error)) bus.Handler {
	return func(ctx context.Context, req *bus.Request) (any, error) {
		env, err := bus.DecodeEnvelope(req)
		if err != nil {
			return nil, err
		}
		if env.Params == nil {
			env.Params = contracts.Params{}
		}
		return fn(ctx, req.Actor, env.Params, env.Body)
	}
}

// withBody decodes the client's body into a T (strictly: unknown fields
// and wrong types are invalid_argument) before calling fn.
func withBody[T any](fn func(ctx context.Context, a contracts.Actor, p contracts.Params, in T) (any, error)) bus.Handler {
	return routed(func(ctx context.Context, a contracts.Actor, p contracts.Params, body []byte) (any, error) {
		var in T
		if err := bus.DecodeJSON(body, &in); err != nil {
			return nil, err
		}
		return fn(ctx, a, p, in)
	})
}

// handlers maps every product.* method to its handler.
func handlers(c *core) map[string]bus.Handler {
	return map[string]bus.Handler{
		contracts.MethodProductCategoriesTree: routed(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			roots, err := c.categoryTree(ctx)
			if err != nil {
				return nil, err
			}
			return contracts.CategoryTree{Items: roots}, nil
		}),
		contracts.MethodProductCategoriesGet: routed(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return c.category(ctx, p.Get("id"))
		}),
		contracts.MethodProductCategoriesCreate: withBody(func(ctx context.Context, a contracts.Actor, p contracts.Params, in contracts.CategoryInput) (any, error) {
			return c.createCategory(ctx, a, in)
		}),
		contracts.MethodProductCategoriesUpdate: withBody(func(ctx context.Context, a contracts.Actor, p contracts.Params, in contracts.CategoryPatch) (any, error) {
			return c.updateCategory(ctx, a, p.Get("id"), in)
		}),
		contracts.MethodProductCategoriesDelete: routed(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return empty, c.deleteCategory(ctx, a, p.Get("id"))
		}),
		contracts.MethodProductList: routed(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			q, err := parseList(a, p)
			if err != nil {
				return nil, err
			}
			return c.list(ctx, a, q)
		}),
		contracts.MethodProductFeaturedList: routed(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			q, err := parseList(contracts.Actor{}, contracts.Params{"limit": p["limit"], "cursor": p["cursor"], "sort": {contracts.SortNewest}})
			if err != nil {
				return nil, err
			}
			q.featured = true
			return c.list(ctx, a, q)
		}),
		contracts.MethodProductGetBySlug: routed(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return c.getProductBySlug(ctx, a, p.Get("slug"))
		}),
		contracts.MethodProductGet: routed(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return c.getProductJSON(ctx, a, p.Get("id"))
		}),
		contracts.MethodProductCreate: withBody(func(ctx context.Context, a contracts.Actor, p contracts.Params, in contracts.ProductInput) (any, error) {
			return c.createProduct(ctx, a, in)
		}),
		contracts.MethodProductUpdate: withBody(func(ctx context.Context, a contracts.Actor, p contracts.Params, in contracts.ProductPatch) (any, error) {
			return c.updateProduct(ctx, a, p.Get("id"), in)
		}),
		contracts.MethodProductDelete: routed(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return empty, c.deleteProduct(ctx, a, p.Get("id"))
		}),
		contracts.MethodProductFeaturedSet: routed(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return c.setFeatured(ctx, a, p.Get("id"), true)
		}),
		contracts.MethodProductFeaturedUnset: routed(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			_, err := c.setFeatured(ctx, a, p.Get("id"), false)
			return empty, err
		}),
		contracts.MethodProductImagesAdd: withBody(func(ctx context.Context, a contracts.Actor, p contracts.Params, in contracts.ImageAddRequest) (any, error) {
			return c.addImage(ctx, a, p.Get("id"), in)
		}),
		contracts.MethodProductImagesRemove: routed(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return empty, c.removeImage(ctx, a, p.Get("id"), p.Get("file_id"))
		}),
		contracts.MethodProductInventoryGet: routed(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			pg, err := contracts.PageOf(p)
			if err != nil {
				return nil, err
			}
			return c.inventory(ctx, a, p.Get("id"), pg)
		}),
		contracts.MethodProductInventoryAdjust: withBody(func(ctx context.Context, a contracts.Actor, p contracts.Params, in contracts.InventoryAdjustRequest) (any, error) {
			return c.adjustInventory(ctx, a, p.Get("id"), in)
		}),
		contracts.MethodProductReviewsList: routed(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			pg, err := contracts.PageOf(p)
			if err != nil {
				return nil, err
			}
			return c.listReviews(ctx, a, p.Get("id"), pg)
		}),
		contracts.MethodProductReviewsCreate: withBody(func(ctx context.Context, a contracts.Actor, p contracts.Params, in contracts.ReviewInput) (any, error) {
			return c.createReview(ctx, a, p.Get("id"), in)
		}),
		contracts.MethodProductReviewsUpdate: withBody(func(ctx context.Context, a contracts.Actor, p contracts.Params, in contracts.ReviewPatch) (any, error) {
			return c.updateReview(ctx, a, p.Get("id"), in)
		}),
		contracts.MethodProductReviewsDelete: routed(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return empty, c.deleteReview(ctx, a, p.Get("id"))
		}),
		contracts.MethodProductCommentsList: routed(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			pg, err := contracts.PageOf(p)
			if err != nil {
				return nil, err
			}
			return c.listComments(ctx, a, p.Get("id"), pg)
		}),
		contracts.MethodProductCommentsCreate: withBody(func(ctx context.Context, a contracts.Actor, p contracts.Params, in contracts.CommentInput) (any, error) {
			return c.createComment(ctx, a, p.Get("id"), "", in)
		}),
		contracts.MethodProductCommentsReply: withBody(func(ctx context.Context, a contracts.Actor, p contracts.Params, in contracts.CommentInput) (any, error) {
			return c.createComment(ctx, a, "", p.Get("id"), in)
		}),
		contracts.MethodProductCommentsDelete: routed(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return empty, c.deleteComment(ctx, a, p.Get("id"))
		}),
		contracts.MethodProductReactionsSet: withBody(func(ctx context.Context, a contracts.Actor, p contracts.Params, in contracts.ReactionInput) (any, error) {
			return c.setReaction(ctx, a, p.Get("id"), in)
		}),
		contracts.MethodProductReactionsRemove: routed(func(ctx context.Context, a contracts.Actor, p contracts.Params, body []byte) (any, error) {
			t := p.Get("type")
			if t == "" {
				var in contracts.ReactionInput
				if err := bus.DecodeJSON(body, &in); err != nil {
					return nil, err
				}
				t = in.Type
			}
			return empty, c.removeReaction(ctx, a, p.Get("id"), t)
		}),
		contracts.MethodProductLookup: func(ctx context.Context, req *bus.Request) (any, error) {
			var in contracts.LookupRequest
			if err := bus.Decode(req, &in); err != nil {
				return nil, err
			}
			return c.lookup(ctx, in)
		},
	}
}
