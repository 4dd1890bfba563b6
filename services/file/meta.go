package file

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/pg"
)

// fileRow is a row of the files table.
type fileRow struct {
	ID          uuid.UUID
	OwnerID     string
	Purpose     string
	Folder      string
	Name        string
	ContentType string
	Size        int64
	SHA256      string
	Width       int
	Height      int
	ThumbSHA256 string // "" when the file has no thumbnail
	ThumbType   string
	CreatedAt   time.Time
	Published   bool // attached where everyone sees it (file.publish)
}

const fileCols = `id, owner_id, purpose, folder, name, content_type, size, sha256, width, height,
	coalesce(thumb_sha256, ''), coalesce(thumb_content_type, ''), created_at, published`

func scanFile(row pgx.Row) (fileRow, error) {
	var f fileRow
	err := row.Scan(&f.ID, &f.OwnerID, &f.Purpose, &f.Folder, &f.Name, &f.ContentType, &f.Size, &f.SHA256,
		&f.Width, &f.Height, &f.ThumbSHA256, &f.ThumbType, &f.CreatedAt, &f.Published)
	return f, err
}

// contract is the file's wire shape.
func (f fileRow) contract() contracts.File {
	id := f.ID.String()
	out := contracts.File{
		ID: id, URL: contracts.FileURL(id), SHA256: f.SHA256, Size: f.Size, ContentType: f.ContentType,
		Purpose: f.Purpose, Folder: f.Folder, Name: f.Name, OwnerID: f.OwnerID,
		Width: f.Width, Height: f.Height, CreatedAt: f.CreatedAt.UTC(), Public: f.public(),
	}
	if f.ThumbSHA256 != "" {
		out.ThumbnailURL = contracts.FileThumbnailURL(id)
	}
	return out
}

// public reports whether anyone may read the file: product images, and
// files another service published by attaching them (avatars, review
// images).
func (f fileRow) public() bool { return f.Purpose == contracts.PurposeProductImage || f.Published }

// canRead reports whether a may read the file: public files by anyone;
// everything else only by its owner, admins and services.
func (f fileRow) canRead(a contracts.Actor) bool { return f.public() || a.Can(f.OwnerID) }

// meta is the metadata store (the service's database).
type meta struct {
	pool *pgxpool.Pool
}

var errNoFile = contracts.NotFound("file")

// get loads a file by id; a malformed or unknown id is not_found.
func (m *meta) get(ctx context.Context, id string) (fileRow, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return fileRow{}, errNoFile
	}
	f, err := scanFile(m.pool.QueryRow(ctx, `SELECT `+fileCols+` FROM files WHERE id = $1`, uid))
	if errors.Is(err, pgx.ErrNoRows) {
		return fileRow{}, errNoFile
	}
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
func (m *meta) withBlobLocks(ctx context.Context, sums []string, fn func(conn *pgxpool.Conn) error) error {
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

func insertFile(ctx context.Context, tx pgx.Tx, f fileRow) (fileRow, error) {
	var thumb, thumbType *string
	if f.ThumbSHA256 != "" {
		thumb, thumbType = &f.ThumbSHA256, &f.ThumbType
	}
	return scanFile(tx.QueryRow(ctx, `INSERT INTO files
		(id, owner_id, purpose, folder, name, content_type, size, sha256, width, height, thumb_sha256, thumb_content_type)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING `+fileCols,
		f.ID, f.OwnerID, f.Purpose, f.Folder, f.Name, f.ContentType, f.Size, f.SHA256, f.Width, f.Height, thumb, thumbType))
}

func uploadedEvent(f fileRow) contracts.FileUploaded {
	return contracts.FileUploaded{FileID: f.ID.String(), OwnerID: f.OwnerID, Purpose: f.Purpose,
		ContentType: f.ContentType, Size: f.Size, SHA256: f.SHA256}
}

// store publishes the blob (and thumbnail) temporaries and records the file
// with its file.uploaded event, under the blobs' locks. If recording fails,
// a blob published here that no row refers to is removed again before the
// locks are released (the sweeper catches what a crash leaves behind).
func (m *meta) store(ctx context.Context, bs *blobStore, blob, thumb *tempBlob, f fileRow) (fileRow, error) {
	sums := []string{blob.sum}
	if thumb != nil {
		sums = append(sums, thumb.sum)
	}
	var out fileRow
	err := m.withBlobLocks(ctx, sums, func(conn *pgxpool.Conn) error {
		temps := []*tempBlob{blob, thumb}
		for _, t := range temps {
			if t != nil {
				if err := bs.publish(t); err != nil {
					return err
				}
			}
		}
		err := pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{}, func(tx pgx.Tx) error {
			if err := addRef(ctx, tx, blob.sum, blob.size); err != nil {
				return err
			}
			if thumb != nil {
				if err := addRef(ctx, tx, thumb.sum, thumb.size); err != nil {
					return err
				}
			}
			var err error
			if out, err = insertFile(ctx, tx, f); err != nil {
				return err
			}
			_, err = pg.AddEvent(ctx, tx, contracts.EventFileUploaded, uploadedEvent(out))
			return err
		})
		if err != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			for _, s := range sums {
				var n int
				if qerr := conn.QueryRow(cctx, `SELECT count(*) FROM blobs WHERE sha256 = $1`, s).Scan(&n); qerr == nil && n == 0 {
					_ = bs.remove(s)
				}
			}
		}
		return err
	})
	return out, err
}

// remove deletes the file id (which the caller loaded as f and may delete)
// with its file.deleted event, and removes the blobs it held the last
// reference to, after the commit and under their locks.
func (m *meta) remove(ctx context.Context, bs *blobStore, f fileRow) error {
	return m.withBlobLocks(ctx, []string{f.SHA256, f.ThumbSHA256}, func(conn *pgxpool.Conn) error {
		var gone []string
		err := pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{}, func(tx pgx.Tx) error {
			gone = gone[:0]
			var sum, thumb string
			err := tx.QueryRow(ctx, `DELETE FROM files WHERE id = $1 RETURNING sha256, coalesce(thumb_sha256, '')`, f.ID).Scan(&sum, &thumb)
			if errors.Is(err, pgx.ErrNoRows) {
				return errNoFile
			}
			if err != nil {
				return err
			}
			for _, s := range []string{sum, thumb} {
				if s == "" {
					continue
				}
				last, err := dropRef(ctx, tx, s)
				if err != nil {
					return err
				}
				if last {
					gone = append(gone, s)
				}
			}
			_, err = pg.AddEvent(ctx, tx, contracts.EventFileDeleted, contracts.FileDeleted{FileID: f.ID.String(), OwnerID: f.OwnerID})
			return err
		})
		if err != nil {
			return err
		}
		for _, s := range gone {
			if err := bs.remove(s); err != nil {
				// The row is gone; the sweeper retries the file.
				return fmt.Errorf("remove blob %s: %w", s, err)
			}
		}
		return nil
	})
}

// copyFile records a new file of the same bytes as src in folder, owned by
// src's owner, with its file.uploaded event. The source row is share-locked
// so a concurrent delete cannot drop the blobs' last reference meanwhile.
func (m *meta) copyFile(ctx context.Context, a contracts.Actor, id, folder string) (fileRow, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return fileRow{}, errNoFile
	}
	var out fileRow
	err = pg.InTx(ctx, m.pool, func(tx pgx.Tx) error {
		src, err := scanFile(tx.QueryRow(ctx, `SELECT `+fileCols+` FROM files WHERE id = $1 FOR SHARE`, uid))
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoFile
		}
		if err != nil {
			return err
		}
		if err := ownerCheck(a, src); err != nil {
			return err
		}
		n := src
		n.ID = newID()
		n.Folder = folder
		for _, s := range []string{src.SHA256, src.ThumbSHA256} {
			if s == "" {
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE blobs SET refs = refs + 1 WHERE sha256 = $1`, s); err != nil {
				return err
			}
		}
		if out, err = insertFile(ctx, tx, n); err != nil {
			return err
		}
		_, err = pg.AddEvent(ctx, tx, contracts.EventFileUploaded, uploadedEvent(out))
		return err
	})
	return out, err
}

// move sets the folder of file id.
func (m *meta) move(ctx context.Context, a contracts.Actor, id, folder string) (fileRow, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return fileRow{}, errNoFile
	}
	var out fileRow
	err = pg.InTx(ctx, m.pool, func(tx pgx.Tx) error {
		f, err := scanFile(tx.QueryRow(ctx, `SELECT `+fileCols+` FROM files WHERE id = $1 FOR UPDATE`, uid))
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoFile
		}
		if err != nil {
			return err
		}
		if err := ownerCheck(a, f); err != nil {
			return err
		}
		out, err = scanFile(tx.QueryRow(ctx, `UPDATE files SET folder = $2 WHERE id = $1 RETURNING `+fileCols, uid, folder))
		return err
	})
	return out, err
}

// listQuery selects one page of an owner's files.
type listQuery struct {
	owner     string
	folder    *string // nil = any folder
	purpose   string  // "" = any
	after     uuid.UUID
	hasCursor bool
	limit     int
}

func (m *meta) list(ctx context.Context, q listQuery) (contracts.List[contracts.File], error) {
	var folder any
	if q.folder != nil {
		folder = *q.folder
	}
	var after any
	if q.hasCursor {
		after = q.after
	}
	rows, err := m.pool.Query(ctx, `SELECT `+fileCols+` FROM files
		WHERE owner_id = $1 AND ($2::text IS NULL OR folder = $2) AND ($3 = '' OR purpose = $3)
		  AND ($4::uuid IS NULL OR id < $4)
		ORDER BY id DESC LIMIT $5`, q.owner, folder, q.purpose, after, q.limit+1)
	if err != nil {
		return contracts.List[contracts.File]{}, err
	}
	fs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (fileRow, error) { return scanFile(r) })
	if err != nil {
		return contracts.List[contracts.File]{}, err
	}
	out := contracts.List[contracts.File]{Items: make([]contracts.File, 0, len(fs))}
	if len(fs) > q.limit {
		fs = fs[:q.limit]
		out.NextCursor = fs[len(fs)-1].ID.String()
	}
	for _, f := range fs {
		out.Items = append(out.Items, f.contract())
	}
	return out, nil
}

// ownerCheck allows the owner, admins and services. Others get not_found
// for a file they cannot read (its existence is not revealed) and
// permission_denied for a public one.
func ownerCheck(a contracts.Actor, f fileRow) error {
	if a.Can(f.OwnerID) {
		return nil
	}
	if f.public() {
		return contracts.PermissionDenied("only the owner of a file may change it")
	}
	return errNoFile
}

func newID() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.New()
	}
	return id
}

// publish makes a file public for good (file.publish): the file must be
// ownerID's, of purpose, and an image. Publishing twice changes nothing.
func (m *meta) publish(ctx context.Context, in contracts.FilePublishRequest) (fileRow, error) {
	uid, err := uuid.Parse(in.ID)
	if err != nil {
		return fileRow{}, errNoFile
	}
	var out fileRow
	err = pg.InTx(ctx, m.pool, func(tx pgx.Tx) error {
		f, err := scanFile(tx.QueryRow(ctx, `SELECT `+fileCols+` FROM files WHERE id = $1 FOR UPDATE`, uid))
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoFile
		}
		if err != nil {
			return err
		}
		switch {
		case f.OwnerID != in.OwnerID:
			return contracts.PermissionDenied("file %s is not yours", in.ID)
		case f.Purpose != in.Purpose:
			return contracts.InvalidArgument("file_id", "file %s has purpose %q, not %s", in.ID, f.Purpose, in.Purpose)
		case !isImage(f.ContentType):
			return contracts.InvalidArgument("file_id", "file %s is not an image", in.ID)
		}
		if f.Published {
			out = f
			return nil
		}
		out, err = scanFile(tx.QueryRow(ctx, `UPDATE files SET published = true WHERE id = $1 RETURNING `+fileCols, uid))
		return err
	})
	return out, err
}
