package product

import (
	"context"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
)

// empty is the reply of methods answered 204 by the gateway.
var empty = struct{}{}

// call is a decoded gateway call without a body.
type call = bus.Call[bus.NoBody]

// pageQuery is the input of the paged lists of one product (inventory
// ledger, reviews, comments): the product id (path) and the page.
type pageQuery struct {
	id   string
	page contracts.Page
}

// parsePage parses a paged list's id and limit/cursor parameters.
func parsePage(_ contracts.Actor, p contracts.Params) (pageQuery, error) {
	pg, err := contracts.PageOf(p)
	return pageQuery{id: p.Get("id"), page: pg}, err
}

// parseFeatured parses product.featured.list: the newest featured
// products, paged like product.list (its other filters do not apply).
func parseFeatured(_ contracts.Actor, p contracts.Params) (*listQuery, error) {
	q, err := parseList(contracts.Actor{}, contracts.Params{"limit": p["limit"], "cursor": p["cursor"], "sort": {contracts.SortNewest}})
	if err != nil {
		return nil, err
	}
	q.featured = true
	return q, nil
}

// handlers maps every product.* method to its handler. Decoding is the
// transport's (bus.Routed, bus.Query): each handler receives its typed
// body or parsed filter and calls the domain.
func handlers(c *core) map[string]bus.Handler {
	list := func(ctx context.Context, a contracts.Actor, q *listQuery) (any, error) { return c.list(ctx, a, q) }
	return map[string]bus.Handler{
		contracts.MethodProductSeed: seedHandler(c), // seedrpc.go
		contracts.MethodProductCategoriesTree: bus.Routed(func(ctx context.Context, _ call) (any, error) {
			roots, err := c.categoryTree(ctx)
			if err != nil {
				return nil, err
			}
			return contracts.CategoryTree{Items: roots}, nil
		}),
		contracts.MethodProductCategoriesGet: bus.Routed(func(ctx context.Context, r call) (any, error) {
			return c.category(ctx, r.Params.Get("id"))
		}),
		contracts.MethodProductCategoriesCreate: bus.Routed(func(ctx context.Context, r bus.Call[contracts.CategoryInput]) (any, error) {
			return c.createCategory(ctx, r.Actor, r.In)
		}),
		contracts.MethodProductCategoriesUpdate: bus.Routed(func(ctx context.Context, r bus.Call[contracts.CategoryPatch]) (any, error) {
			return c.updateCategory(ctx, r.Actor, r.Params.Get("id"), r.In)
		}),
		contracts.MethodProductCategoriesDelete: bus.Routed(func(ctx context.Context, r call) (any, error) {
			return empty, c.deleteCategory(ctx, r.Actor, r.Params.Get("id"))
		}),
		contracts.MethodProductList:         bus.Query(parseList, list),
		contracts.MethodProductFeaturedList: bus.Query(parseFeatured, list),
		contracts.MethodProductSuggest: bus.Query(parseSuggest, func(ctx context.Context, _ contracts.Actor, q suggestQuery) (any, error) {
			return c.suggest(ctx, q)
		}),
		contracts.MethodProductSynonymsGet: bus.Routed(func(ctx context.Context, r call) (any, error) {
			return c.synonyms(ctx, r.Actor)
		}),
		contracts.MethodProductSynonymsSet: bus.Routed(func(ctx context.Context, r bus.Call[contracts.Synonyms]) (any, error) {
			return c.setSynonyms(ctx, r.Actor, r.In)
		}),
		contracts.MethodProductGetBySlug: bus.Routed(func(ctx context.Context, r call) (any, error) {
			return c.getProductBySlug(ctx, r.Actor, r.Params.Get("slug"))
		}),
		contracts.MethodProductGet: bus.Routed(func(ctx context.Context, r call) (any, error) {
			return c.getProductJSON(ctx, r.Actor, r.Params.Get("id"))
		}),
		contracts.MethodProductCreate: bus.Routed(func(ctx context.Context, r bus.Call[contracts.ProductInput]) (any, error) {
			return c.createProduct(ctx, r.Actor, r.In)
		}),
		contracts.MethodProductUpdate: bus.Routed(func(ctx context.Context, r bus.Call[contracts.ProductPatch]) (any, error) {
			return c.updateProduct(ctx, r.Actor, r.Params.Get("id"), r.In)
		}),
		contracts.MethodProductDelete: bus.Routed(func(ctx context.Context, r call) (any, error) {
			return empty, c.deleteProduct(ctx, r.Actor, r.Params.Get("id"))
		}),
		contracts.MethodProductFeaturedSet: bus.Routed(func(ctx context.Context, r call) (any, error) {
			return c.setFeatured(ctx, r.Actor, r.Params.Get("id"), true)
		}),
		contracts.MethodProductFeaturedUnset: bus.Routed(func(ctx context.Context, r call) (any, error) {
			_, err := c.setFeatured(ctx, r.Actor, r.Params.Get("id"), false)
			return empty, err
		}),
		contracts.MethodProductImagesAdd: bus.Routed(func(ctx context.Context, r bus.Call[contracts.ImageAddRequest]) (any, error) {
			return c.addImage(ctx, r.Actor, r.Params.Get("id"), r.In)
		}),
		contracts.MethodProductImagesRemove: bus.Routed(func(ctx context.Context, r call) (any, error) {
			return empty, c.removeImage(ctx, r.Actor, r.Params.Get("id"), r.Params.Get("file_id"))
		}),
		contracts.MethodProductInventoryGet: bus.Query(parsePage, func(ctx context.Context, a contracts.Actor, q pageQuery) (any, error) {
			return c.inventory(ctx, a, q.id, q.page)
		}),
		contracts.MethodProductInventoryAdjust: bus.Routed(func(ctx context.Context, r bus.Call[contracts.InventoryAdjustRequest]) (any, error) {
			return c.adjustInventory(ctx, r.Actor, r.Params.Get("id"), r.In)
		}),
		contracts.MethodProductReviewsList: bus.Query(parsePage, func(ctx context.Context, a contracts.Actor, q pageQuery) (any, error) {
			return c.listReviews(ctx, a, q.id, q.page)
		}),
		contracts.MethodProductReviewsCreate: bus.Routed(func(ctx context.Context, r bus.Call[contracts.ReviewInput]) (any, error) {
			return c.createReview(ctx, r.Actor, r.Params.Get("id"), r.In)
		}),
		contracts.MethodProductReviewsUpdate: bus.Routed(func(ctx context.Context, r bus.Call[contracts.ReviewPatch]) (any, error) {
			return c.updateReview(ctx, r.Actor, r.Params.Get("id"), r.In)
		}),
		contracts.MethodProductReviewsDelete: bus.Routed(func(ctx context.Context, r call) (any, error) {
			return empty, c.deleteReview(ctx, r.Actor, r.Params.Get("id"))
		}),
		contracts.MethodProductCommentsList: bus.Query(parsePage, func(ctx context.Context, a contracts.Actor, q pageQuery) (any, error) {
			return c.listComments(ctx, a, q.id, q.page)
		}),
		contracts.MethodProductCommentsCreate: bus.Routed(func(ctx context.Context, r bus.Call[contracts.CommentInput]) (any, error) {
			return c.createComment(ctx, r.Actor, r.Params.Get("id"), "", r.In)
		}),
		contracts.MethodProductCommentsReply: bus.Routed(func(ctx context.Context, r bus.Call[contracts.CommentInput]) (any, error) {
			return c.createComment(ctx, r.Actor, "", r.Params.Get("id"), r.In)
		}),
		contracts.MethodProductCommentsDelete: bus.Routed(func(ctx context.Context, r call) (any, error) {
			return empty, c.deleteComment(ctx, r.Actor, r.Params.Get("id"))
		}),
		contracts.MethodProductReactionsSet: bus.Routed(func(ctx context.Context, r bus.Call[contracts.ReactionInput]) (any, error) {
			return c.setReaction(ctx, r.Actor, r.Params.Get("id"), r.In)
		}),
		// The reaction type comes from the path (?type=) or, for older
		// clients, from a body {"type": …}.
		contracts.MethodProductReactionsRemove: bus.Routed(func(ctx context.Context, r bus.Call[contracts.ReactionInput]) (any, error) {
			t := r.Params.Get("type")
			if t == "" {
				t = r.In.Type
			}
			return empty, c.removeReaction(ctx, r.Actor, r.Params.Get("id"), t)
		}),
		// product.lookup is service to service (not gateway-routed): its
		// request body is the LookupRequest itself, not an envelope.
		contracts.MethodProductLookup: func(ctx context.Context, req *bus.Request) (any, error) {
			var in contracts.LookupRequest
			if err := bus.Decode(req, &in); err != nil {
				return nil, err
			}
			return c.lookup(ctx, in)
		},
	}
}
