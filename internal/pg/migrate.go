package pg

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var runtimeMigrations embed.FS

// Migration components recorded in oc_schema_migrations.component.
const (
	// ComponentRuntime versions pg's own tables (oc_outbox, oc_inbox).
	ComponentRuntime = "pg"
	// ComponentService versions the service's migrations passed to Migrate.
	ComponentService = "service"
)

// ErrMigrationChanged is returned (wrapped) by Migrate when the content of a
// migration file differs from the one recorded when it was applied.
// Migrations are append-only: fix a mistake with a new file.
var ErrMigrationChanged = errors.New("applied migration changed")

// migrationLockKey is the pg_advisory_lock key serialising Migrate calls on
// one database (advisory locks are scoped to the current database).
// Its bytes spell "OC_migra".
const migrationLockKey int64 = 0x4f435f6d69677261 // "OC_migra"

var migrationName = regexp.MustCompile(`^([0-9]+)_([A-Za-z0-9_\-]+)\.sql$`)

type migration struct {
	version  int64
	name     string // file name
	sql      string
	checksum string
}

// Migrate applies pg's own migrations, then the service's migrations from
// the root of migrations (files NNNN_name.sql; other files are ignored; nil
// applies only pg's own). Each file runs once, in version order, in its own
// transaction together with its record in oc_schema_migrations, while a
// session advisory lock keeps other instances waiting, so concurrent calls
// on one database are safe. A file may hold several statements; statements
// that cannot run in a transaction (CREATE INDEX CONCURRENTLY) are not
// supported.
//
// Migrate fails with ErrMigrationChanged when an applied file's content
// changed, and refuses malformed or duplicate versions. It may be called on
// every start; applied files cost one query each.
func Migrate(ctx context.Context, pool *pgxpool.Pool, migrations fs.FS) error {
	return MigrateComponents(ctx, pool, nil, map[string]fs.FS{ComponentService: migrations})
}

// Dir returns the directory dir of an embedded file system (a service's
// //go:embed migrations/*.sql), for Migrate. It panics on a bad dir: that
// is a build mistake, caught by any test that migrates.
func Dir(files fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// MigrateComponents is Migrate for callers with more than one set of
// migrations: pg's own run first, then each component in order (components
// lists the keys of sets; nil means the sorted keys). Each component has its
// own version namespace.
func MigrateComponents(ctx context.Context, pool *pgxpool.Pool, components []string, sets map[string]fs.FS) error {
	rt := Dir(runtimeMigrations, "migrations")
	if components == nil {
		for k := range sets {
			components = append(components, k)
		}
		sort.Strings(components)
	}
	type plan struct {
		component string
		files     []migration
	}
	var plans []plan
	files, err := readMigrations(rt)
	if err != nil {
		return fmt.Errorf("pg: runtime migrations: %w", err)
	}
	plans = append(plans, plan{ComponentRuntime, files})
	for _, c := range components {
		if c == ComponentRuntime {
			return fmt.Errorf("pg: component name %q is reserved", c)
		}
		fsys, ok := sets[c]
		if !ok {
			return fmt.Errorf("pg: no migrations for component %q", c)
		}
		if fsys == nil {
			continue
		}
		files, err := readMigrations(fsys)
		if err != nil {
			return fmt.Errorf("pg: %s migrations: %w", c, err)
		}
		plans = append(plans, plan{c, files})
	}

	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pg: migrate: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			// The session may still hold the advisory lock or be mid
			// transaction: close it rather than return it to the pool.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
		conn.Release()
	}()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return fmt.Errorf("pg: migrate: take lock: %w", err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS oc_schema_migrations (
		component  text        NOT NULL,
		version    bigint      NOT NULL,
		name       text        NOT NULL,
		checksum   text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (component, version))`); err != nil {
		return fmt.Errorf("pg: migrate: create oc_schema_migrations: %w", err)
	}
	for _, p := range plans {
		if err := applyComponent(ctx, conn.Conn(), p.component, p.files); err != nil {
			return err
		}
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", migrationLockKey); err != nil {
		return fmt.Errorf("pg: migrate: release lock: %w", err)
	}
	ok = true
	return nil
}

func applyComponent(ctx context.Context, conn *pgx.Conn, component string, files []migration) error {
	applied := map[int64]migration{}
	rows, err := conn.Query(ctx, "SELECT version, name, checksum FROM oc_schema_migrations WHERE component = $1", component)
	if err != nil {
		return fmt.Errorf("pg: migrate: read applied: %w", err)
	}
	for rows.Next() {
		var m migration
		if err := rows.Scan(&m.version, &m.name, &m.checksum); err != nil {
			rows.Close()
			return fmt.Errorf("pg: migrate: read applied: %w", err)
		}
		applied[m.version] = m
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pg: migrate: read applied: %w", err)
	}
	known := map[int64]bool{}
	for _, m := range files {
		known[m.version] = true
		if a, ok := applied[m.version]; ok {
			if a.checksum != m.checksum {
				return fmt.Errorf("pg: migrate %s %s: %w (recorded checksum %s as %s, file now %s)",
					component, m.name, ErrMigrationChanged, a.checksum[:12], a.name, m.checksum[:12])
			}
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO oc_schema_migrations (component, version, name, checksum) VALUES ($1, $2, $3, $4)",
				component, m.version, m.name, m.checksum)
			return err
		})
		if err != nil {
			return fmt.Errorf("pg: migrate %s %s: %w", component, m.name, err)
		}
		slog.Default().Debug("pg: applied migration", "component", component, "file", m.name)
	}
	for v, a := range applied {
		if !known[v] {
			slog.Default().Warn("pg: database has a migration this binary does not know (newer binary ran?)",
				"component", component, "version", v, "name", a.name)
		}
	}
	return nil
}

func readMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var out []migration
	seen := map[int64]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		sm := migrationName.FindStringSubmatch(e.Name())
		if sm == nil {
			return nil, fmt.Errorf("%s: name must be NNNN_name.sql", e.Name())
		}
		v, err := strconv.ParseInt(sm[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: version: %w", e.Name(), err)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("%s and %s: duplicate version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		out = append(out, migration{version: v, name: e.Name(), sql: string(b), checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}
