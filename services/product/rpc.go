package product

import (
	"context"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
)

// empty is the reply of methods answered 204 by the gateway.
var empty = struct{}{}

// withBody decodes the client's body into a T (strictly: unknown fields
// and wrong types are invalid_argument) before calling fn.
func withBody[T any](fn func(ctx context.Context, a contracts.Actor, p contracts.Params, in T) (any, error)) bus.Handler {
	return bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, body []byte) (any, error) {
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
		contracts.MethodProductSeed: seedHandler(c), // seedrpc.go
		contracts.MethodProductCategoriesTree: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			roots, err := c.categoryTree(ctx)
			if err != nil {
				return nil, err
			}
			return contracts.CategoryTree{Items: roots}, nil
		}),
		contracts.MethodProductCategoriesGet: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return c.category(ctx, p.Get("id"))
		}),
		contracts.MethodProductCategoriesCreate: withBody(func(ctx context.Context, a contracts.Actor, p contracts.Params, in contracts.CategoryInput) (any, error) {
			return c.createCategory(ctx, a, in)
		}),
		contracts.MethodProductCategoriesUpdate: withBody(func(ctx context.Context, a contracts.Actor, p contracts.Params, in contracts.CategoryPatch) (any, error) {
			return c.updateCategory(ctx, a, p.Get("id"), in)
		}),
		contracts.MethodProductCategoriesDelete: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return empty, c.deleteCategory(ctx, a, p.Get("id"))
		}),
		contracts.MethodProductList: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			q, err := parseList(a, p)
			if err != nil {
				return nil, err
			}
			return c.list(ctx, a, q)
		}),
		contracts.MethodProductSuggest: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return c.suggest(ctx, p)
		}),
		contracts.MethodProductSynonymsGet: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return c.synonyms(ctx, a)
		}),
		contracts.MethodProductSynonymsSet: withBody(func(ctx context.Context, a contracts.Actor, p contracts.Params, in contracts.Synonyms) (any, error) {
			return c.setSynonyms(ctx, a, in)
		}),
		contracts.MethodProductFeaturedList: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			q, err := parseList(contracts.Actor{}, contracts.Params{"limit": p["limit"], "cursor": p["cursor"], "sort": {contracts.SortNewest}})
			if err != nil {
				return nil, err
			}
			q.featured = true
			return c.list(ctx, a, q)
		}),
		contracts.MethodProductGetBySlug: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return c.getProductBySlug(ctx, a, p.Get("slug"))
		}),
		contracts.MethodProductGet: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return c.getProductJSON(ctx, a, p.Get("id"))
		}),
		contracts.MethodProductCreate: withBody(func(ctx context.Context, a contracts.Actor, p contracts.Params, in contracts.ProductInput) (any, error) {
			return c.createProduct(ctx, a, in)
		}),
		contracts.MethodProductUpdate: withBody(func(ctx context.Context, a contracts.Actor, p contracts.Params, in contracts.ProductPatch) (any, error) {
			return c.updateProduct(ctx, a, p.Get("id"), in)
		}),
		contracts.MethodProductDelete: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return empty, c.deleteProduct(ctx, a, p.Get("id"))
		}),
		contracts.MethodProductFeaturedSet: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return c.setFeatured(ctx, a, p.Get("id"), true)
		}),
		contracts.MethodProductFeaturedUnset: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			_, err := c.setFeatured(ctx, a, p.Get("id"), false)
			return empty, err
		}),
		contracts.MethodProductImagesAdd: withBody(func(ctx context.Context, a contracts.Actor, p contracts.Params, in contracts.ImageAddRequest) (any, error) {
			return c.addImage(ctx, a, p.Get("id"), in)
		}),
		contracts.MethodProductImagesRemove: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return empty, c.removeImage(ctx, a, p.Get("id"), p.Get("file_id"))
		}),
		contracts.MethodProductInventoryGet: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			pg, err := contracts.PageOf(p)
			if err != nil {
				return nil, err
			}
			return c.inventory(ctx, a, p.Get("id"), pg)
		}),
		contracts.MethodProductInventoryAdjust: withBody(func(ctx context.Context, a contracts.Actor, p contracts.Params, in contracts.InventoryAdjustRequest) (any, error) {
			return c.adjustInventory(ctx, a, p.Get("id"), in)
		}),
		contracts.MethodProductReviewsList: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
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
		contracts.MethodProductReviewsDelete: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return empty, c.deleteReview(ctx, a, p.Get("id"))
		}),
		contracts.MethodProductCommentsList: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
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
		contracts.MethodProductCommentsDelete: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, _ []byte) (any, error) {
			return empty, c.deleteComment(ctx, a, p.Get("id"))
		}),
		contracts.MethodProductReactionsSet: withBody(func(ctx context.Context, a contracts.Actor, p contracts.Params, in contracts.ReactionInput) (any, error) {
			return c.setReaction(ctx, a, p.Get("id"), in)
		}),
		contracts.MethodProductReactionsRemove: bus.RawRouted(func(ctx context.Context, a contracts.Actor, p contracts.Params, body []byte) (any, error) {
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
