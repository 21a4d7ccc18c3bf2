// Package pgstore keeps logtohttp server-side sessions in PostgreSQL,
// shared by every instance of an application, with the coordination of
// logtohttp.SharedSessionStore: records written over the version a request
// loaded, and the refresh lock that makes one expired token cause one
// refresh request across all instances.
//
//	pool, err := pgxpool.New(ctx, "postgres://app@db/app")
//	store, err := pgstore.New(ctx, pool, pgstore.Options{})
//	sessions, err := logtohttp.NewServerSessions(store, logtohttp.CookieOptions{Keys: keys})
//
// New creates its two tables unless they exist (Schema returns the
// statements, to run them yourself with SkipCreate):
//
//	CREATE TABLE IF NOT EXISTS logto_sessions (
//		id         text PRIMARY KEY,    -- SHA-256 of the session id
//		version    bigint NOT NULL,     -- +1 at every write
//		subject    bytea NOT NULL,      -- sub of the user, empty when signed out
//		sid        bytea NOT NULL,      -- Logto's session id, or empty
//		vals       bytea NOT NULL,      -- the session's values, JSON
//		expires_at timestamptz NOT NULL
//	);
//	CREATE INDEX IF NOT EXISTS logto_sessions_subject ON logto_sessions (subject);
//	CREATE INDEX IF NOT EXISTS logto_sessions_sid ON logto_sessions (sid);
//	CREATE INDEX IF NOT EXISTS logto_sessions_expires_at ON logto_sessions (expires_at);
//	CREATE TABLE IF NOT EXISTS logto_sessions_locks (
//		id         text PRIMARY KEY,
//		token      text NOT NULL,
//		expires_at timestamptz NOT NULL
//	);
//
// Times are the database server's (now()), so instances need not agree on
// the time. Expired rows are invisible at once and deleted by
// DeleteExpired: call it now and then (every few minutes). Every write is
// one statement, so a record is written whole or not at all; every call
// honours its context. When the database is down, calls fail with the
// driver's error (wrapped): logtohttp then answers the request with an
// error instead of treating the user as signed out.
package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gologto/logto/logtohttp"
)

// DB is what the store needs of a database handle: a *pgxpool.Pool, a
// *pgx.Conn (not safe for concurrent use) or a wrapper.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Options configure a Store.
type Options struct {
	// Table is the sessions table, optionally schema-qualified; the locks
	// table is Table + "_locks". Default "logto_sessions".
	Table string
	// SkipCreate leaves the tables to the caller (see Schema).
	SkipCreate bool
	// MaxRecordBytes bounds a record's SessionRecord.Size; larger records
	// are refused with an error wrapping logtohttp.ErrRecordTooLarge.
	// Default logtohttp.DefaultMaxRecordBytes.
	MaxRecordBytes int
	// MaxTTL caps the TTL of every record. Default none.
	MaxTTL time.Duration
}

// Store is a logtohttp.SharedSessionStore and logtohttp.UserSessionDeleter
// in PostgreSQL. It is safe for concurrent use when its DB is.
type Store struct {
	db     DB
	max    int
	maxTTL time.Duration
	q      queries
}

var (
	_ logtohttp.SharedSessionStore = (*Store)(nil)
	_ logtohttp.UserSessionDeleter = (*Store)(nil)
)

// tableName accepts name or schema.name, lower-case identifiers.
var tableName = regexp.MustCompile(`^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$`)

// Schema returns the statements that create the tables of a store whose
// sessions table is table (default "logto_sessions").
func Schema(table string) ([]string, error) {
	if table == "" {
		table = "logto_sessions"
	}
	if !tableName.MatchString(table) || len(table) > 50 {
		return nil, fmt.Errorf("pgstore: table name %q: want a lower-case identifier, optionally schema-qualified", table)
	}
	idx := table[strings.LastIndexByte(table, '.')+1:]
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + table + ` (
	id         text PRIMARY KEY,
	version    bigint NOT NULL,
	subject    bytea NOT NULL,
	sid        bytea NOT NULL,
	vals       bytea NOT NULL,
	expires_at timestamptz NOT NULL
)`,
		`CREATE INDEX IF NOT EXISTS ` + idx + `_subject ON ` + table + ` (subject)`,
		`CREATE INDEX IF NOT EXISTS ` + idx + `_sid ON ` + table + ` (sid)`,
		`CREATE INDEX IF NOT EXISTS ` + idx + `_expires_at ON ` + table + ` (expires_at)`,
		`CREATE TABLE IF NOT EXISTS ` + table + `_locks (
	id         text PRIMARY KEY,
	token      text NOT NULL,
	expires_at timestamptz NOT NULL
)`,
	}, nil
}

// New returns a store in db, creating its tables unless opts.SkipCreate.
func New(ctx context.Context, db DB, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("pgstore: New needs a database handle")
	}
	stmts, err := Schema(opts.Table)
	if err != nil {
		return nil, err
	}
	if opts.MaxRecordBytes < 0 || opts.MaxTTL < 0 {
		return nil, errors.New("pgstore: MaxRecordBytes and MaxTTL must not be negative")
	}
	if opts.MaxRecordBytes == 0 {
		opts.MaxRecordBytes = logtohttp.DefaultMaxRecordBytes
	}
	if opts.Table == "" {
		opts.Table = "logto_sessions"
	}
	if !opts.SkipCreate {
		for _, stmt := range stmts {
			if _, err := db.Exec(ctx, stmt); err != nil {
				return nil, fmt.Errorf("pgstore: create the tables: %w", err)
			}
		}
	}
	return &Store{db: db, max: opts.MaxRecordBytes, maxTTL: opts.MaxTTL, q: newQueries(opts.Table)}, nil
}

// queries are the statements of a store, for its table.
type queries struct {
	get, set, casNew, cas, del, delUser, lock, extend, unlock, expired string
}

func newQueries(t string) queries {
	const expiry = `now() + $5::bigint * interval '1 millisecond'`
	return queries{
		get: `SELECT version, vals, subject, sid FROM ` + t + ` WHERE id = $1 AND expires_at > now()`,
		set: `INSERT INTO ` + t + ` AS s (id, version, subject, sid, vals, expires_at)
VALUES ($1, 1, $2, $3, $4, ` + expiry + `)
ON CONFLICT (id) DO UPDATE SET
	version = CASE WHEN s.expires_at > now() THEN s.version + 1 ELSE 1 END,
	subject = EXCLUDED.subject, sid = EXCLUDED.sid, vals = EXCLUDED.vals, expires_at = EXCLUDED.expires_at`,
		casNew: `INSERT INTO ` + t + ` AS s (id, version, subject, sid, vals, expires_at)
VALUES ($1, 1, $2, $3, $4, ` + expiry + `)
ON CONFLICT (id) DO UPDATE SET
	version = 1, subject = EXCLUDED.subject, sid = EXCLUDED.sid, vals = EXCLUDED.vals, expires_at = EXCLUDED.expires_at
WHERE s.expires_at <= now()`,
		cas: `UPDATE ` + t + ` SET version = version + 1, subject = $2, sid = $3, vals = $4, expires_at = ` + expiry + `
WHERE id = $1 AND version = $6 AND expires_at > now()`,
		del:     `DELETE FROM ` + t + ` WHERE id = $1`,
		delUser: `DELETE FROM ` + t + ` WHERE subject <> ''::bytea AND ($1::bytea = ''::bytea OR subject = $1::bytea) AND ($2::bytea = ''::bytea OR sid = $2::bytea) AND expires_at > now()`,
		lock: `INSERT INTO ` + t + `_locks AS l (id, token, expires_at) VALUES ($1, $2, now() + $3::bigint * interval '1 millisecond')
ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token, expires_at = EXCLUDED.expires_at WHERE l.expires_at <= now()`,
		extend:  `UPDATE ` + t + `_locks SET expires_at = now() + $3::bigint * interval '1 millisecond' WHERE id = $1 AND token = $2`,
		unlock:  `DELETE FROM ` + t + `_locks WHERE id = $1 AND token = $2`,
		expired: `WITH a AS (DELETE FROM ` + t + ` WHERE expires_at <= now() RETURNING 1), b AS (DELETE FROM ` + t + `_locks WHERE expires_at <= now()) SELECT count(*) FROM a`,
	}
}

// Get implements logtohttp.SessionStore.
func (s *Store) Get(ctx context.Context, id string) (logtohttp.SessionRecord, bool, error) {
	var (
		rec       logtohttp.SessionRecord
		version   int64
		data      []byte
		sub, sess []byte
	)
	err := s.db.QueryRow(ctx, s.q.get, id).Scan(&version, &data, &sub, &sess)
	if errors.Is(err, pgx.ErrNoRows) {
		return logtohttp.SessionRecord{}, false, nil
	}
	if err != nil {
		return logtohttp.SessionRecord{}, false, fmt.Errorf("pgstore: get: %w", err)
	}
	if err := json.Unmarshal(data, &rec.Values); err != nil {
		return logtohttp.SessionRecord{}, false, fmt.Errorf("pgstore: get: unreadable record: %w", err)
	}
	rec.Version, rec.Subject, rec.SID = uint64(version), string(sub), string(sess)
	return rec, true, nil
}

// args are the parameters $1 to $5 of a write.
func (s *Store) args(op, id string, rec logtohttp.SessionRecord, ttl time.Duration) ([]any, error) {
	if n := rec.Size(); n > s.max {
		return nil, fmt.Errorf("pgstore: %s: %w (%d bytes, limit %d)", op, logtohttp.ErrRecordTooLarge, n, s.max)
	}
	if s.maxTTL > 0 && (ttl <= 0 || ttl > s.maxTTL) {
		ttl = s.maxTTL
	}
	if ttl <= 0 {
		ttl = logtohttp.DefaultSessionMaxAge
	}
	values := rec.Values
	if values == nil {
		values = map[string]string{}
	}
	data, err := json.Marshal(values)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %s: %w", op, err)
	}
	return []any{id, []byte(rec.Subject), []byte(rec.SID), data, max(ttl.Milliseconds(), 1)}, nil
}

// Set implements logtohttp.SessionStore.
func (s *Store) Set(ctx context.Context, id string, rec logtohttp.SessionRecord, ttl time.Duration) error {
	args, err := s.args("set", id, rec, ttl)
	if err != nil {
		return err
	}
	if _, err := s.db.Exec(ctx, s.q.set, args...); err != nil {
		return fmt.Errorf("pgstore: set: %w", err)
	}
	return nil
}

// CompareAndSet implements logtohttp.SharedSessionStore.
func (s *Store) CompareAndSet(ctx context.Context, id string, version uint64, rec logtohttp.SessionRecord, ttl time.Duration) (bool, error) {
	args, err := s.args("compare-and-set", id, rec, ttl)
	if err != nil {
		return false, err
	}
	if version > 1<<62 {
		return false, nil // never written by this store
	}
	q := s.q.casNew
	if version > 0 {
		q, args = s.q.cas, append(args, int64(version))
	}
	tag, err := s.db.Exec(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("pgstore: compare-and-set: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// Delete implements logtohttp.SessionStore.
func (s *Store) Delete(ctx context.Context, id string) error {
	if _, err := s.db.Exec(ctx, s.q.del, id); err != nil {
		return fmt.Errorf("pgstore: delete: %w", err)
	}
	return nil
}

// DeleteUserSessions implements logtohttp.UserSessionDeleter.
func (s *Store) DeleteUserSessions(ctx context.Context, subject, sid string) (int, error) {
	if subject == "" && sid == "" {
		return 0, nil
	}
	tag, err := s.db.Exec(ctx, s.q.delUser, []byte(subject), []byte(sid))
	if err != nil {
		return 0, fmt.Errorf("pgstore: delete user sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// Lock implements logtohttp.SharedSessionStore: a row of the locks table,
// taken over once expired; polled every few milliseconds while another
// holder has it.
func (s *Store) Lock(ctx context.Context, id string, ttl time.Duration) (string, error) {
	var b [18]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	token := base64.RawURLEncoding.EncodeToString(b[:])
	ms := max(ttl.Milliseconds(), 1)
	wait := 2 * time.Millisecond
	for {
		tag, err := s.db.Exec(ctx, s.q.lock, id, token, ms)
		if err != nil {
			return "", fmt.Errorf("pgstore: lock: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return token, nil
		}
		t := time.NewTimer(wait + mrand.N(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("pgstore: lock: %w", ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 25*time.Millisecond)
	}
}

// Extend implements logtohttp.SharedSessionStore.
func (s *Store) Extend(ctx context.Context, id, token string, ttl time.Duration) (bool, error) {
	tag, err := s.db.Exec(ctx, s.q.extend, id, token, max(ttl.Milliseconds(), 1))
	if err != nil {
		return false, fmt.Errorf("pgstore: extend lock: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// Unlock implements logtohttp.SharedSessionStore.
func (s *Store) Unlock(ctx context.Context, id, token string) error {
	if _, err := s.db.Exec(ctx, s.q.unlock, id, token); err != nil {
		return fmt.Errorf("pgstore: unlock: %w", err)
	}
	return nil
}

// DeleteExpired deletes the expired records and locks, and returns how
// many records it deleted.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRow(ctx, s.q.expired).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: delete expired: %w", err)
	}
	return n, nil
}
