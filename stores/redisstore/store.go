// Package redisstore keeps logtohttp server-side sessions in Redis, shared
// by every instance of an application, with the coordination of
// logtohttp.SharedSessionStore: records written over the version a request
// loaded, and the refresh lock that makes one expired token cause one
// refresh request across all instances.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
//	store, err := redisstore.New(rdb, redisstore.Options{})
//	sessions, err := logtohttp.NewServerSessions(store, logtohttp.CookieOptions{Keys: keys})
//
// Each record is a hash under Prefix+"s:"+id with its version, values
// (JSON), subject and sid, expiring with the record's TTL (Redis expires
// it); the sessions of a user and of a Logto session are indexed by sets
// Prefix+"u:"+subject and Prefix+"i:"+sid for back-channel logout; refresh
// locks are keys Prefix+"l:"+id. Every write is one Lua script, so a
// record is written whole or not at all. A script touches a record and its
// index keys at once: use a single Redis server (or Sentinel), not Redis
// Cluster.
//
// Every call honours its context; with ContextTimeoutEnabled the client
// also bounds its network waits by the context's deadline. When Redis is
// down, calls fail with the client's error (wrapped): logtohttp then
// answers the request with an error instead of treating the user as
// signed out, and nothing is written.
package redisstore

import (
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gologto/logto/logtohttp"
)

// Options configure a Store.
type Options struct {
	// Prefix starts every key the store writes. Default "logto:".
	Prefix string
	// MaxRecordBytes bounds a record's SessionRecord.Size; larger records
	// are refused with an error wrapping logtohttp.ErrRecordTooLarge.
	// Default logtohttp.DefaultMaxRecordBytes.
	MaxRecordBytes int
	// MaxTTL caps the TTL of every record (the TTL logtohttp asks for
	// applies when shorter). Default none.
	MaxTTL time.Duration
}

// Store is a logtohttp.SharedSessionStore and logtohttp.UserSessionDeleter
// in Redis. It is safe for concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	max    int
	maxTTL time.Duration
}

var (
	_ logtohttp.SharedSessionStore = (*Store)(nil)
	_ logtohttp.UserSessionDeleter = (*Store)(nil)
)

// New returns a store that keeps sessions through rdb.
func New(rdb redis.UniversalClient, opts Options) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("redisstore: New needs a Redis client")
	}
	if opts.Prefix == "" {
		opts.Prefix = "logto:"
	}
	if opts.MaxRecordBytes < 0 || opts.MaxTTL < 0 {
		return nil, errors.New("redisstore: MaxRecordBytes and MaxTTL must not be negative")
	}
	if opts.MaxRecordBytes == 0 {
		opts.MaxRecordBytes = logtohttp.DefaultMaxRecordBytes
	}
	return &Store{rdb: rdb, prefix: opts.Prefix, max: opts.MaxRecordBytes, maxTTL: opts.MaxTTL}, nil
}

func (s *Store) recordKey(id string) string { return s.prefix + "s:" + id }
func (s *Store) lockKey(id string) string   { return s.prefix + "l:" + id }
func (s *Store) userKey(sub string) string  { return s.prefix + "u:" + sub }
func (s *Store) sidKey(sid string) string   { return s.prefix + "i:" + sid }

// Get implements logtohttp.SessionStore.
func (s *Store) Get(ctx context.Context, id string) (logtohttp.SessionRecord, bool, error) {
	vals, err := s.rdb.HMGet(ctx, s.recordKey(id), "v", "d", "sub", "sid").Result()
	if err != nil {
		return logtohttp.SessionRecord{}, false, fmt.Errorf("redisstore: get: %w", err)
	}
	version, _ := vals[0].(string)
	data, _ := vals[1].(string)
	if version == "" || data == "" {
		return logtohttp.SessionRecord{}, false, nil
	}
	var rec logtohttp.SessionRecord
	if _, err := fmt.Sscan(version, &rec.Version); err != nil {
		return logtohttp.SessionRecord{}, false, fmt.Errorf("redisstore: get: unreadable version %q", version)
	}
	if err := json.Unmarshal([]byte(data), &rec.Values); err != nil {
		return logtohttp.SessionRecord{}, false, fmt.Errorf("redisstore: get: unreadable record: %w", err)
	}
	rec.Subject, _ = vals[2].(string)
	rec.SID, _ = vals[3].(string)
	return rec, true, nil
}

// writeScript writes a record whole: KEYS are the record, the user index
// of the new subject (or the record key when none), the sid index (or the
// record key), and the old user and sid index prefixes' keys are built in
// the script from ARGV[7] (the prefix). ARGV: values JSON, subject, sid,
// TTL in ms, mode ("set" or "cas"), the version a CAS expects, prefix, id.
// It returns the new version, or -1 when a CAS found another version.
var writeScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0') or 0
if ARGV[5] == 'cas' and cur ~= tonumber(ARGV[6]) then
  return -1
end
local oldsub = redis.call('HGET', KEYS[1], 'sub')
local oldsid = redis.call('HGET', KEYS[1], 'sid')
if oldsub and oldsub ~= '' and oldsub ~= ARGV[2] then
  redis.call('SREM', ARGV[7] .. 'u:' .. oldsub, ARGV[8])
end
if oldsid and oldsid ~= '' and oldsid ~= ARGV[3] then
  redis.call('SREM', ARGV[7] .. 'i:' .. oldsid, ARGV[8])
end
local v = cur + 1
redis.call('HSET', KEYS[1], 'v', v, 'd', ARGV[1], 'sub', ARGV[2], 'sid', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local ttl = tonumber(ARGV[4])
for i, idx in ipairs({KEYS[2], KEYS[3]}) do
  if idx ~= KEYS[1] then
    redis.call('SADD', idx, ARGV[8])
    if redis.call('PTTL', idx) < ttl then
      redis.call('PEXPIRE', idx, ttl)
    end
  end
end
return v
`)

// deleteScript deletes a record and its index entries. KEYS: the record.
// ARGV: prefix, id, and the subject and sid the record must have ("" for
// any). It returns 1 when it deleted a record.
var deleteScript = redis.NewScript(`
local sub = redis.call('HGET', KEYS[1], 'sub')
if not sub then
  return 0
end
local sid = redis.call('HGET', KEYS[1], 'sid') or ''
if (ARGV[3] ~= '' and sub ~= ARGV[3]) or (ARGV[4] ~= '' and sid ~= ARGV[4]) then
  return 0
end
redis.call('DEL', KEYS[1])
if sub ~= '' then redis.call('SREM', ARGV[1] .. 'u:' .. sub, ARGV[2]) end
if sid ~= '' then redis.call('SREM', ARGV[1] .. 'i:' .. sid, ARGV[2]) end
return 1
`)

// extendScript sets the expiry of a lock key if it holds the token.
var extendScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// unlockScript deletes a lock key if it holds the token.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// write runs writeScript; version < 0 means an unconditional Set.
func (s *Store) write(ctx context.Context, op, id string, rec logtohttp.SessionRecord, ttl time.Duration, version int64) (bool, error) {
	if n := rec.Size(); n > s.max {
		return false, fmt.Errorf("redisstore: %s: %w (%d bytes, limit %d)", op, logtohttp.ErrRecordTooLarge, n, s.max)
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
		return false, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	key := s.recordKey(id)
	userIdx, sidIdx := key, key
	if rec.Subject != "" {
		userIdx = s.userKey(rec.Subject)
	}
	if rec.SID != "" {
		sidIdx = s.sidKey(rec.SID)
	}
	mode, expect := "set", int64(0)
	if version >= 0 {
		mode, expect = "cas", version
	}
	ms := max(ttl.Milliseconds(), 1)
	n, err := writeScript.Run(ctx, s.rdb, []string{key, userIdx, sidIdx},
		string(data), rec.Subject, rec.SID, ms, mode, expect, s.prefix, id).Int64()
	if err != nil {
		return false, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return n >= 0, nil
}

// Set implements logtohttp.SessionStore.
func (s *Store) Set(ctx context.Context, id string, rec logtohttp.SessionRecord, ttl time.Duration) error {
	_, err := s.write(ctx, "set", id, rec, ttl, -1)
	return err
}

// CompareAndSet implements logtohttp.SharedSessionStore.
func (s *Store) CompareAndSet(ctx context.Context, id string, version uint64, rec logtohttp.SessionRecord, ttl time.Duration) (bool, error) {
	if version > 1<<62 {
		return false, nil // never written by this store
	}
	return s.write(ctx, "compare-and-set", id, rec, ttl, int64(version))
}

// Delete implements logtohttp.SessionStore.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := deleteScript.Run(ctx, s.rdb, []string{s.recordKey(id)}, s.prefix, id, "", "").Err(); err != nil {
		return fmt.Errorf("redisstore: delete: %w", err)
	}
	return nil
}

// DeleteUserSessions implements logtohttp.UserSessionDeleter, through the
// index of the user's (or the Logto session's) records.
func (s *Store) DeleteUserSessions(ctx context.Context, subject, sid string) (int, error) {
	var idx string
	switch {
	case sid != "":
		idx = s.sidKey(sid)
	case subject != "":
		idx = s.userKey(subject)
	default:
		return 0, nil
	}
	ids, err := s.rdb.SMembers(ctx, idx).Result()
	if err != nil {
		return 0, fmt.Errorf("redisstore: delete user sessions: %w", err)
	}
	n := 0
	for _, id := range ids {
		d, err := deleteScript.Run(ctx, s.rdb, []string{s.recordKey(id)}, s.prefix, id, subject, sid).Int()
		if err != nil {
			return n, fmt.Errorf("redisstore: delete user sessions: %w", err)
		}
		if d == 0 {
			// Expired, or another user's since: drop the stale entry.
			_ = s.rdb.SRem(ctx, idx, id).Err()
		}
		n += d
	}
	return n, nil
}

// Lock implements logtohttp.SharedSessionStore with SET NX PX, polled
// every few milliseconds while another holder has it.
func (s *Store) Lock(ctx context.Context, id string, ttl time.Duration) (string, error) {
	var b [18]byte
	_, _ = crand.Read(b[:]) // never fails since Go 1.24
	token := base64.RawURLEncoding.EncodeToString(b[:])
	key := s.lockKey(id)
	wait := 2 * time.Millisecond
	for {
		ok, err := s.rdb.SetNX(ctx, key, token, ttl).Result()
		if err != nil {
			return "", fmt.Errorf("redisstore: lock: %w", err)
		}
		if ok {
			return token, nil
		}
		t := time.NewTimer(wait + mrand.N(wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return "", fmt.Errorf("redisstore: lock: %w", ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 25*time.Millisecond)
	}
}

// Extend implements logtohttp.SharedSessionStore.
func (s *Store) Extend(ctx context.Context, id, token string, ttl time.Duration) (bool, error) {
	n, err := extendScript.Run(ctx, s.rdb, []string{s.lockKey(id)}, token, max(ttl.Milliseconds(), 1)).Int()
	if err != nil {
		return false, fmt.Errorf("redisstore: extend lock: %w", err)
	}
	return n == 1, nil
}

// Unlock implements logtohttp.SharedSessionStore.
func (s *Store) Unlock(ctx context.Context, id, token string) error {
	if err := unlockScript.Run(ctx, s.rdb, []string{s.lockKey(id)}, token).Err(); err != nil {
		return fmt.Errorf("redisstore: unlock: %w", err)
	}
	return nil
}
