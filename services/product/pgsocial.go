package product

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/opencommerce/opencommerce/contracts"
)

// The comments and reactions part of the PostgreSQL adapter
// (catalogStore's commentReads, catalogTx's socialTx).

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

func collectComments(rows pgx.Rows, err error) ([]contracts.Comment, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (contracts.Comment, error) { return scanComment(row) })
}

// Comments implements commentReads.
func (s pgCatalog) Comments(ctx context.Context, id uuid.UUID, after *timeCursor, limit int) ([]contracts.Comment, error) {
	sql := `SELECT ` + commentCols + ` FROM comments WHERE product_id = $1 AND parent_id IS NULL`
	args := []any{id}
	if after != nil {
		sql += ` AND (created_at, id) < ($2, $3)`
		args = append(args, after.At, after.ID)
	}
	return collectComments(s.pool.Query(ctx, sql+` ORDER BY created_at DESC, id DESC LIMIT `+itoa(limit), args...))
}

// Replies implements commentReads.
func (s pgCatalog) Replies(ctx context.Context, roots []uuid.UUID, max int) ([]contracts.Comment, error) {
	return collectComments(s.pool.Query(ctx, `SELECT `+commentCols+` FROM (
		SELECT *, row_number() OVER (PARTITION BY parent_id ORDER BY created_at, id) AS n
		FROM comments WHERE parent_id = ANY($1)) r WHERE n <= $2 ORDER BY created_at, id`, roots, max))
}

// Comment implements socialTx.
func (t pgCatalogTx) Comment(ctx context.Context, id uuid.UUID) (uuid.UUID, *uuid.UUID, string, error) {
	var pid uuid.UUID
	var parent *uuid.UUID
	var user string
	err := t.tx.QueryRow(ctx, `SELECT product_id, parent_id, user_id FROM comments WHERE id = $1`, id).Scan(&pid, &parent, &user)
	if isNoRows(err) {
		return pid, nil, "", contracts.NotFound("comment")
	}
	return pid, parent, user, err
}

// InsertComment implements socialTx.
func (t pgCatalogTx) InsertComment(ctx context.Context, cm contracts.Comment) (contracts.Comment, error) {
	return scanComment(t.tx.QueryRow(ctx, `INSERT INTO comments (id, product_id, parent_id, user_id, body, is_question, by_seller)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+commentCols,
		cm.ID, cm.ProductID, cm.ParentID, cm.UserID, cm.Body, cm.IsQuestion, cm.BySeller))
}

// LockComment implements socialTx.
func (t pgCatalogTx) LockComment(ctx context.Context, id uuid.UUID) (string, error) {
	var owner string
	err := t.tx.QueryRow(ctx, `SELECT user_id FROM comments WHERE id = $1 FOR UPDATE`, id).Scan(&owner)
	if isNoRows(err) {
		return "", contracts.NotFound("comment")
	}
	return owner, err
}

// DeleteComment implements socialTx.
func (t pgCatalogTx) DeleteComment(ctx context.Context, id uuid.UUID) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM comments WHERE id = $1`, id) // replies go with it
	return err
}

// AddReaction implements socialTx.
func (t pgCatalogTx) AddReaction(ctx context.Context, id uuid.UUID, userID, typ string) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO reactions (product_id, user_id, type) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, id, userID, typ)
	return err
}

// RemoveReactions implements socialTx.
func (t pgCatalogTx) RemoveReactions(ctx context.Context, id uuid.UUID, userID, typ string) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM reactions WHERE product_id = $1 AND user_id = $2 AND ($3 = '' OR type = $3)`, id, userID, typ)
	return err
}

// ReactionCounts implements socialTx.
func (t pgCatalogTx) ReactionCounts(ctx context.Context, id uuid.UUID) (map[string]int64, error) {
	rows, err := t.tx.Query(ctx, `SELECT type, count(*) FROM reactions WHERE product_id = $1 GROUP BY type`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var typ string
		var n int64
		if err := rows.Scan(&typ, &n); err != nil {
			return nil, err
		}
		out[typ] = n
	}
	return out, rows.Err()
}
