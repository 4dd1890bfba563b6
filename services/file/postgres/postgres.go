// Package postgres implements files.Store on PostgreSQL (the file
// service's own database): the files table, the blobs table counting each
// blob's references (file bytes and thumbnails), and the file.uploaded and
// file.deleted events written to the outbox (pg.AddEvent) in the same
// transaction. A blob's life is serialised across instances by a session
// advisory lock per blob (withBlobLocks).
package postgres

import (
	"context"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/pg"
	"github.com/opencommerce/opencommerce/services/file/files"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the file database's SQL migrations.
func Migrations() fs.FS {
	return pg.Dir(migrationFiles, "migrations")
}

// Store is the PostgreSQL files.Store. Safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

var _ files.Store = (*Store)(nil)

// New returns the store over pool (migrated with Migrations).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

const fileCols = `id, owner_id, purpose, folder, name, content_type, size, sha256, width, height,
	coalesce(thumb_sha256, ''), coalesce(thumb_content_type, ''), created_at, published`

func scanFile(row pgx.Row) (files.File, error) {
	var f files.File
	err := row.Scan(&f.ID, &f.OwnerID, &f.Purpose, &f.Folder, &f.Name, &f.ContentType, &f.Size, &f.SHA256,
		&f.Width, &f.Height, &f.ThumbSHA256, &f.ThumbType, &f.CreatedAt, &f.Published)
	return f, err
}

// blobLockClass is the first key of the advisory locks that serialise the
// life of one blob (publish + reference, or unreference + remove) across
// every instance sharing the blob directory. The second key is the first
// 32 bits of the digest: unrelated blobs rarely share a lock, and when they
// do they merely wait for each other.
const blobLockClass int32 = 0x0f11e

func blobLockKey(sum string) int32 {
	b, _ := hex.DecodeString(sum[:8])
	return int32(binary.BigEndian.Uint32(b))
}

// withBlobLocks runs fn on one connection while holding the session-level
// advisory locks of sums (taken in key order, so two callers never
// deadlock). The locks outlive fn's transaction on purpose: a blob's file is
// published before, and removed after, the commit that references or
// releases it, and nobody else may decide about that blob in between. If
// the process dies, the session ends and the locks are released.
func (m *Store) withBlobLocks(ctx context.Context, sums []string, fn func(conn *pgxpool.Conn) error) error {
	keys := make([]int32, 0, len(sums))
	for _, s := range sums {
		if s != "" {
			keys = append(keys, blobLockKey(s))
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	conn, err := m.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	locked := 0
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		for _, k := range keys[:locked] {
			if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1, $2)`, blobLockClass, k); err != nil {
				// Ending the session is the sure way to release the lock.
				_ = conn.Conn().Close(uctx)
				return
			}
		}
	}()
	for _, k := range keys {
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, $2)`, blobLockClass, k); err != nil {
			return fmt.Errorf("blob lock: %w", err)
		}
		locked++
	}
	return fn(conn)
}

// addRef records one more reference to the blob sum of size bytes.
func addRef(ctx context.Context, tx pgx.Tx, sum string, size int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO blobs (sha256, size, refs) VALUES ($1, $2, 1)
		ON CONFLICT (sha256) DO UPDATE SET refs = blobs.refs + 1`, sum, size)
	return err
}

// dropRef removes one reference to sum and reports whether it was the
// last (the blobs row is then gone and the file on disk may be removed
// after commit).
func dropRef(ctx context.Context, tx pgx.Tx, sum string) (last bool, err error) {
	var refs int
	err = tx.QueryRow(ctx, `UPDATE blobs SET refs = refs - 1 WHERE sha256 = $1 AND refs > 1 RETURNING refs`, sum).Scan(&refs)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return false, err
	}
	tag, err := tx.Exec(ctx, `DELETE FROM blobs WHERE sha256 = $1 AND refs = 1`, sum)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

func insertFile(ctx context.Context, tx pgx.Tx, f files.File) (files.File, error) {
	var thumb, thumbType *string
	if f.ThumbSHA256 != "" {
		thumb, thumbType = &f.ThumbSHA256, &f.ThumbType
	}
	return scanFile(tx.QueryRow(ctx, `INSERT INTO files
		(id, owner_id, purpose, folder, name, content_type, size, sha256, width, height, thumb_sha256, thumb_content_type)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING `+fileCols,
		f.ID, f.OwnerID, f.Purpose, f.Folder, f.Name, f.ContentType, f.Size, f.SHA256, f.Width, f.Height, thumb, thumbType))
}

// Get implements files.Store.
func (m *Store) Get(ctx context.Context, id uuid.UUID) (files.File, error) {
	f, err := scanFile(m.pool.QueryRow(ctx, `SELECT `+fileCols+` FROM files WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return files.File{}, files.ErrNotFound
	}
	return f, err
}

// Create implements files.Store.
func (m *Store) Create(ctx context.Context, f files.File, thumbSize int64, publish func() error, unpublish func(sum string) error) (files.File, error) {
	sums := f.Blobs()
	var out files.File
	err := m.withBlobLocks(ctx, sums, func(conn *pgxpool.Conn) error {
		if err := publish(); err != nil {
			return err
		}
		err := pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{}, func(tx pgx.Tx) error {
			var err error
			out, err = createFile(ctx, tx, f, thumbSize)
			return err
		})
		if err != nil {
			unpublishUnreferenced(ctx, conn, sums, unpublish)
		}
		return err
	})
	return out, err
}

// createFile records f, a reference to each of its blobs and its
// file.uploaded event.
func createFile(ctx context.Context, tx pgx.Tx, f files.File, thumbSize int64) (files.File, error) {
	if err := addRef(ctx, tx, f.SHA256, f.Size); err != nil {
		return files.File{}, err
	}
	if f.ThumbSHA256 != "" {
		if err := addRef(ctx, tx, f.ThumbSHA256, thumbSize); err != nil {
			return files.File{}, err
		}
	}
	out, err := insertFile(ctx, tx, f)
	if err != nil {
		return files.File{}, err
	}
	_, err = pg.AddEvent(ctx, tx, contracts.EventFileUploaded, out.Uploaded())
	return out, err
}

// unpublishUnreferenced calls unpublish with each of sums that no blobs row
// refers to, after a failed create (still under the blobs' locks).
func unpublishUnreferenced(ctx context.Context, conn *pgxpool.Conn, sums []string, unpublish func(string) error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, s := range sums {
		var n int
		if err := conn.QueryRow(cctx, `SELECT count(*) FROM blobs WHERE sha256 = $1`, s).Scan(&n); err == nil && n == 0 {
			_ = unpublish(s)
		}
	}
}

// Delete implements files.Store.
func (m *Store) Delete(ctx context.Context, f files.File, release func(sum string) error) error {
	return m.withBlobLocks(ctx, f.Blobs(), func(conn *pgxpool.Conn) error {
		var gone []string
		err := pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{}, func(tx pgx.Tx) error {
			var err error
			gone, err = deleteFile(ctx, tx, f)
			return err
		})
		if err != nil {
			return err
		}
		for _, s := range gone {
			if err := release(s); err != nil {
				// The row is gone; the sweeper retries the blob.
				return fmt.Errorf("remove blob %s: %w", s, err)
			}
		}
		return nil
	})
}

// deleteFile deletes f's row, drops a reference to each of its blobs and
// writes its file.deleted event; it returns the blobs it held the last
// reference to.
func deleteFile(ctx context.Context, tx pgx.Tx, f files.File) ([]string, error) {
	var sum, thumb string
	err := tx.QueryRow(ctx, `DELETE FROM files WHERE id = $1 RETURNING sha256, coalesce(thumb_sha256, '')`, f.ID).Scan(&sum, &thumb)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, files.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var gone []string
	for _, s := range []string{sum, thumb} {
		if s == "" {
			continue
		}
		last, err := dropRef(ctx, tx, s)
		if err != nil {
			return nil, err
		}
		if last {
			gone = append(gone, s)
		}
	}
	_, err = pg.AddEvent(ctx, tx, contracts.EventFileDeleted, f.Deleted())
	return gone, err
}

// Copy implements files.Store.
func (m *Store) Copy(ctx context.Context, id uuid.UUID, fn func(src files.File) (files.File, error)) (files.File, error) {
	var out files.File
	err := pg.InTx(ctx, m.pool, func(tx pgx.Tx) error {
		src, err := scanFile(tx.QueryRow(ctx, `SELECT `+fileCols+` FROM files WHERE id = $1 FOR SHARE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return files.ErrNotFound
		}
		if err != nil {
			return err
		}
		n, err := fn(src)
		if err != nil {
			return err
		}
		for _, s := range n.Blobs() {
			if _, err := tx.Exec(ctx, `UPDATE blobs SET refs = refs + 1 WHERE sha256 = $1`, s); err != nil {
				return err
			}
		}
		if out, err = insertFile(ctx, tx, n); err != nil {
			return err
		}
		_, err = pg.AddEvent(ctx, tx, contracts.EventFileUploaded, out.Uploaded())
		return err
	})
	return out, err
}

// Update implements files.Store.
func (m *Store) Update(ctx context.Context, id uuid.UUID, fn func(f *files.File) error) (files.File, error) {
	var out files.File
	err := pg.InTx(ctx, m.pool, func(tx pgx.Tx) error {
		f, err := scanFile(tx.QueryRow(ctx, `SELECT `+fileCols+` FROM files WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return files.ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := fn(&f); err != nil {
			return err
		}
		out, err = scanFile(tx.QueryRow(ctx, `UPDATE files SET folder = $2, published = $3 WHERE id = $1 RETURNING `+fileCols,
			id, f.Folder, f.Published))
		return err
	})
	return out, err
}

// List implements files.Store.
func (m *Store) List(ctx context.Context, q files.ListQuery) ([]files.File, error) {
	var folder any
	if q.Folder != nil {
		folder = *q.Folder
	}
	var after any
	if q.HasCursor {
		after = q.After
	}
	rows, err := m.pool.Query(ctx, `SELECT `+fileCols+` FROM files
		WHERE owner_id = $1 AND ($2::text IS NULL OR folder = $2) AND ($3 = '' OR purpose = $3)
		  AND ($4::uuid IS NULL OR id < $4)
		ORDER BY id DESC LIMIT $5`, q.Owner, folder, q.Purpose, after, q.Limit+1)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (files.File, error) { return scanFile(r) })
}

// Unreferenced implements files.Store.
func (m *Store) Unreferenced(ctx context.Context, sums []string) ([]string, error) {
	rows, err := m.pool.Query(ctx, `SELECT s FROM unnest($1::text[]) AS s
		WHERE NOT EXISTS (SELECT 1 FROM blobs WHERE sha256 = s)`, sums)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// IfUnreferenced implements files.Store.
func (m *Store) IfUnreferenced(ctx context.Context, sum string, fn func() (bool, error)) (bool, error) {
	var done bool
	err := m.withBlobLocks(ctx, []string{sum}, func(conn *pgxpool.Conn) error {
		var one int
		err := conn.QueryRow(ctx, `SELECT 1 FROM blobs WHERE sha256 = $1`, sum).Scan(&one)
		if err == nil {
			return nil // referenced after all (committed meanwhile)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		done, err = fn()
		return err
	})
	return done, err
}
