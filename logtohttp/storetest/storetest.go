// Package storetest checks that a logtohttp.SessionStore behaves as
// logtohttp relies on: one table of cases, run against the memory store in
// package logtohttp and against the Redis and PostgreSQL stores in their
// modules. Run it from a test of your own store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Config{Store: newStore(t)})
//	}
//
// The cases for logtohttp.SharedSessionStore (compare-and-set, locks) run
// when the store implements it, those of logtohttp.UserSessionDeleter when
// it implements that. Cases use ids of their own, so the store need not be
// empty, and a few wait for short TTLs to pass (about a second in all).
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gologto/logto/logtohttp"
)

// Config describes the store under test.
type Config struct {
	// Store is the store under test.
	Store logtohttp.SessionStore
	// MaxRecordBytes is the store's limit on SessionRecord.Size; 0 when
	// it has none (a record of DefaultMaxRecordBytes must then be kept
	// whole).
	MaxRecordBytes int
	// Outage makes the store's server unreachable and returns the function
	// that brings it back (with the data it held). nil skips the case of
	// a server down and back.
	Outage func(t testing.TB) (restore func())
}

// test is one case of the table.
type test struct {
	name string
	// needs names the optional interface the case needs: "shared",
	// "deleter", "outage" or "".
	needs string
	run   func(t *testing.T, c *Config)
}

var tests = []test{
	{"get-set-delete", "", testGetSetDelete},
	{"values-round-trip", "", testValuesRoundTrip},
	{"set-replaces", "", testSetReplaces},
	{"expiry", "", testExpiry},
	{"set-renews-ttl", "", testSetRenewsTTL},
	{"canceled-context", "", testCanceledContext},
	{"concurrent-writers", "", testConcurrentWriters},
	{"size-limit", "", testSizeLimit},
	{"version-counts-writes", "shared", testVersions},
	{"compare-and-set", "shared", testCompareAndSet},
	{"compare-and-set-expired", "shared", testCompareAndSetExpired},
	{"compare-and-set-concurrent", "shared", testCompareAndSetConcurrent},
	{"lock-excludes", "shared", testLockExcludes},
	{"lock-expires", "shared", testLockExpires},
	{"lock-extend", "shared", testLockExtend},
	{"lock-concurrent", "shared", testLockConcurrent},
	{"delete-user-sessions", "deleter", testDeleteUserSessions},
	{"server-down-and-back", "outage", testOutage},
}

// Run runs the conformance table against cfg.Store, one subtest per case.
func Run(t *testing.T, cfg Config) {
	t.Helper()
	if cfg.Store == nil {
		t.Fatal("storetest: Config.Store is nil")
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			switch tc.needs {
			case "shared":
				if _, ok := cfg.Store.(logtohttp.SharedSessionStore); !ok {
					t.Skipf("%T is not a logtohttp.SharedSessionStore", cfg.Store)
				}
			case "deleter":
				if _, ok := cfg.Store.(logtohttp.UserSessionDeleter); !ok {
					t.Skipf("%T is not a logtohttp.UserSessionDeleter", cfg.Store)
				}
			case "outage":
				if cfg.Outage == nil {
					t.Skip("no Config.Outage")
				}
			}
			tc.run(t, &cfg)
		})
	}
}

// newID returns a fresh id shaped like those logtohttp passes (43
// characters of base64url).
func newID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func sample(sub string) logtohttp.SessionRecord {
	return logtohttp.SessionRecord{
		Values: map[string]string{
			"idToken":        "eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJ1In0.c2ln",
			"refreshToken":   "rt-" + sub,
			"accessTokenMap": `{"":{"token":"at","expiresAt":1700000000}}`,
		},
		Subject: sub,
		SID:     "sid-" + sub,
	}
}

func mustGet(t *testing.T, s logtohttp.SessionStore, id string) (logtohttp.SessionRecord, bool) {
	t.Helper()
	rec, ok, err := s.Get(ctxT(t), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return rec, ok
}

func mustSet(t *testing.T, s logtohttp.SessionStore, id string, rec logtohttp.SessionRecord, ttl time.Duration) {
	t.Helper()
	if err := s.Set(ctxT(t), id, rec, ttl); err != nil {
		t.Fatalf("Set(%s): %v", id, err)
	}
}

// sameRecord compares what a store returned with what was stored,
// ignoring the version.
func sameRecord(t *testing.T, got, want logtohttp.SessionRecord) {
	t.Helper()
	if !maps.Equal(got.Values, want.Values) || got.Subject != want.Subject || got.SID != want.SID {
		t.Fatalf("record read back differs:\n got  %+v\n want %+v", got, want)
	}
}

// eventually polls cond until it holds or 5 s passed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testGetSetDelete(t *testing.T, c *Config) {
	s, id := c.Store, newID()
	if _, ok := mustGet(t, s, id); ok {
		t.Fatal("Get of an id never set found a record")
	}
	rec := sample("user-a")
	mustSet(t, s, id, rec, time.Hour)
	got, ok := mustGet(t, s, id)
	if !ok {
		t.Fatal("Get after Set found nothing")
	}
	sameRecord(t, got, rec)
	if err := s.Delete(ctxT(t), id); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, ok := mustGet(t, s, id); ok {
		t.Fatal("Get after Delete found a record")
	}
	if err := s.Delete(ctxT(t), id); err != nil {
		t.Fatalf("Delete of a missing id: %v", err)
	}
	if err := s.Delete(ctxT(t), newID()); err != nil {
		t.Fatalf("Delete of an id never set: %v", err)
	}
}

func testValuesRoundTrip(t *testing.T, c *Config) {
	s := c.Store
	for name, rec := range map[string]logtohttp.SessionRecord{
		"signed out, no subject": {Values: map[string]string{"logtohttp.returnTo": "x"}},
		"empty value":            {Values: map[string]string{"k": "", "idToken": "t"}, Subject: "u"},
		"unicode and controls":   {Values: map[string]string{"名前": "ジェーン\x00\n\t\"'\\", "k\x01": "{\"a\":[1,2]}"}, Subject: "ü", SID: "s\x00"},
		"one value":              {Values: map[string]string{"refreshToken": strings.Repeat("r", 43)}, Subject: "u"},
	} {
		id := newID()
		mustSet(t, s, id, rec, time.Hour)
		got, ok := mustGet(t, s, id)
		if !ok {
			t.Fatalf("%s: not found after Set", name)
		}
		sameRecord(t, got, rec)
	}
}

func testSetReplaces(t *testing.T, c *Config) {
	s, id := c.Store, newID()
	mustSet(t, s, id, sample("first"), time.Hour)
	second := logtohttp.SessionRecord{Values: map[string]string{"only": "this"}, Subject: "second"}
	mustSet(t, s, id, second, time.Hour)
	got, _ := mustGet(t, s, id)
	sameRecord(t, got, second) // no key of the first record left
}

func testExpiry(t *testing.T, c *Config) {
	s, short, long := c.Store, newID(), newID()
	mustSet(t, s, short, sample("short"), 150*time.Millisecond)
	mustSet(t, s, long, sample("long"), time.Hour)
	if _, ok := mustGet(t, s, short); !ok {
		t.Fatal("a record is gone before its TTL")
	}
	eventually(t, "a record outlived its TTL", func() bool {
		_, ok := mustGet(t, s, short)
		return !ok
	})
	if _, ok := mustGet(t, s, long); !ok {
		t.Fatal("a record with an hour's TTL is gone")
	}
}

func testSetRenewsTTL(t *testing.T, c *Config) {
	s, id := c.Store, newID()
	mustSet(t, s, id, sample("a"), 200*time.Millisecond)
	mustSet(t, s, id, sample("a"), time.Hour)
	time.Sleep(400 * time.Millisecond)
	if _, ok := mustGet(t, s, id); !ok {
		t.Fatal("the TTL of the second Set did not replace the first's")
	}
}

func testCanceledContext(t *testing.T, c *Config) {
	s, id := c.Store, newID()
	mustSet(t, s, id, sample("a"), time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Get(ctx, id); err == nil {
		t.Error("Get with a canceled context succeeded")
	}
	if err := s.Set(ctx, id, sample("b"), time.Hour); err == nil {
		t.Error("Set with a canceled context succeeded")
	}
	if err := s.Delete(ctx, id); err == nil {
		t.Error("Delete with a canceled context succeeded")
	}
	got, ok := mustGet(t, s, id)
	if !ok {
		t.Fatal("a call with a canceled context deleted the record")
	}
	sameRecord(t, got, sample("a"))
	if sh, ok := s.(logtohttp.SharedSessionStore); ok {
		if _, err := sh.CompareAndSet(ctx, id, 0, sample("b"), time.Hour); err == nil {
			t.Error("CompareAndSet with a canceled context succeeded")
		}
		if _, err := sh.Lock(ctx, newID(), time.Second); err == nil {
			t.Error("Lock with a canceled context succeeded")
		}
	}
}

// testConcurrentWriters: writers of distinct ids all land; writers of one
// id leave exactly one of their records, whole.
func testConcurrentWriters(t *testing.T, c *Config) {
	s := c.Store
	const writers, rounds = 12, 15
	shared := newID()
	ids := make([]string, writers)
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds*2)
	for w := range writers {
		ids[w] = newID()
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for r := range rounds {
				rec := recordOf(w, r)
				if err := s.Set(ctx, ids[w], rec, time.Hour); err != nil {
					errs <- err
				}
				if err := s.Set(ctx, shared, rec, time.Hour); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Set: %v", err)
	}
	for w := range writers {
		got, ok := mustGet(t, s, ids[w])
		if !ok {
			t.Fatalf("writer %d: record missing", w)
		}
		sameRecord(t, got, recordOf(w, rounds-1))
	}
	got, ok := mustGet(t, s, shared)
	if !ok {
		t.Fatal("the record all writers wrote is missing")
	}
	var w, r int
	if _, err := fmt.Sscanf(got.Subject, "w%d-r%d", &w, &r); err != nil {
		t.Fatalf("the shared record's subject %q: %v", got.Subject, err)
	}
	sameRecord(t, got, recordOf(w, r)) // one writer's record, not a mix
}

func recordOf(w, r int) logtohttp.SessionRecord {
	tag := fmt.Sprintf("w%d-r%d", w, r)
	return logtohttp.SessionRecord{
		Values:  map[string]string{"a": tag + "-a", "b": tag + "-b", "c": tag + "-c"},
		Subject: tag,
		SID:     tag,
	}
}

// sized returns a record whose Size is n.
func sized(n int) logtohttp.SessionRecord {
	rec := logtohttp.SessionRecord{Subject: "u", SID: "s", Values: map[string]string{"idToken": "", "big": ""}}
	rec.Values["big"] = strings.Repeat("x", n-rec.Size())
	return rec
}

func testSizeLimit(t *testing.T, c *Config) {
	s := c.Store
	if c.MaxRecordBytes == 0 {
		id := newID()
		rec := sized(logtohttp.DefaultMaxRecordBytes)
		mustSet(t, s, id, rec, time.Hour)
		got, _ := mustGet(t, s, id)
		sameRecord(t, got, rec)
		return
	}
	id := newID()
	at := sized(c.MaxRecordBytes)
	mustSet(t, s, id, at, time.Hour)
	got, ok := mustGet(t, s, id)
	if !ok {
		t.Fatal("a record at the size limit was not kept")
	}
	sameRecord(t, got, at)

	over := sized(c.MaxRecordBytes + 1)
	err := s.Set(ctxT(t), id, over, time.Hour)
	if !errors.Is(err, logtohttp.ErrRecordTooLarge) {
		t.Fatalf("Set of a record one byte over the limit: %v, want ErrRecordTooLarge", err)
	}
	got, _ = mustGet(t, s, id)
	sameRecord(t, got, at) // the refused write changed nothing
	if sh, ok := s.(logtohttp.SharedSessionStore); ok {
		_, err := sh.CompareAndSet(ctxT(t), id, got.Version, over, time.Hour)
		if !errors.Is(err, logtohttp.ErrRecordTooLarge) {
			t.Fatalf("CompareAndSet of a record over the limit: %v, want ErrRecordTooLarge", err)
		}
		again, _ := mustGet(t, s, id)
		sameRecord(t, again, at)
		if again.Version != got.Version {
			t.Fatalf("a refused CompareAndSet changed the version from %d to %d", got.Version, again.Version)
		}
	}
	fresh := newID()
	if err := s.Set(ctxT(t), fresh, over, time.Hour); !errors.Is(err, logtohttp.ErrRecordTooLarge) {
		t.Fatalf("Set of a new record over the limit: %v", err)
	}
	if _, ok := mustGet(t, s, fresh); ok {
		t.Fatal("a refused record was written")
	}
}

func shared(c *Config) logtohttp.SharedSessionStore { return c.Store.(logtohttp.SharedSessionStore) }

func testVersions(t *testing.T, c *Config) {
	s, id := shared(c), newID()
	mustSet(t, s, id, sample("a"), time.Hour)
	got, _ := mustGet(t, s, id)
	if got.Version != 1 {
		t.Fatalf("version of a new record is %d, want 1", got.Version)
	}
	mustSet(t, s, id, sample("b"), time.Hour)
	got, _ = mustGet(t, s, id)
	if got.Version != 2 {
		t.Fatalf("version after a second Set is %d, want 2", got.Version)
	}
}

func cas(t *testing.T, s logtohttp.SharedSessionStore, id string, version uint64, rec logtohttp.SessionRecord) bool {
	t.Helper()
	ok, err := s.CompareAndSet(ctxT(t), id, version, rec, time.Hour)
	if err != nil {
		t.Fatalf("CompareAndSet(%s, %d): %v", id, version, err)
	}
	return ok
}

func testCompareAndSet(t *testing.T, c *Config) {
	s, id := shared(c), newID()
	if cas(t, s, id, 1, sample("a")) {
		t.Fatal("CompareAndSet over version 1 of a missing record succeeded")
	}
	if _, ok := mustGet(t, s, id); ok {
		t.Fatal("a failed CompareAndSet wrote a record")
	}
	if !cas(t, s, id, 0, sample("a")) {
		t.Fatal("CompareAndSet over version 0 of a missing record failed")
	}
	got, _ := mustGet(t, s, id)
	sameRecord(t, got, sample("a"))
	if got.Version != 1 {
		t.Fatalf("version after CompareAndSet(0) is %d, want 1", got.Version)
	}
	if cas(t, s, id, 0, sample("b")) {
		t.Fatal("CompareAndSet(0) over an existing record succeeded")
	}
	if !cas(t, s, id, 1, sample("b")) {
		t.Fatal("CompareAndSet over the current version failed")
	}
	if cas(t, s, id, 1, sample("stale")) {
		t.Fatal("CompareAndSet over a stale version succeeded")
	}
	got, _ = mustGet(t, s, id)
	sameRecord(t, got, sample("b"))
	if got.Version != 2 {
		t.Fatalf("version is %d, want 2", got.Version)
	}
	mustSet(t, s, id, sample("c"), time.Hour) // Set moves the version on
	if cas(t, s, id, 2, sample("stale")) {
		t.Fatal("CompareAndSet over the version Set replaced succeeded")
	}
	if !cas(t, s, id, 3, sample("d")) {
		t.Fatal("CompareAndSet over the version Set wrote failed")
	}
	if err := s.Delete(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	if cas(t, s, id, 4, sample("stale")) {
		t.Fatal("CompareAndSet over the version of a deleted record succeeded")
	}
	if !cas(t, s, id, 0, sample("e")) {
		t.Fatal("CompareAndSet(0) after Delete failed")
	}
}

func testCompareAndSetExpired(t *testing.T, c *Config) {
	s, id := shared(c), newID()
	ok, err := s.CompareAndSet(ctxT(t), id, 0, sample("a"), 150*time.Millisecond)
	if err != nil || !ok {
		t.Fatalf("CompareAndSet: %v %v", ok, err)
	}
	eventually(t, "a record written by CompareAndSet outlived its TTL", func() bool {
		_, ok := mustGet(t, s, id)
		return !ok
	})
	if cas(t, s, id, 1, sample("stale")) {
		t.Fatal("CompareAndSet over the version of an expired record succeeded")
	}
	if !cas(t, s, id, 0, sample("b")) {
		t.Fatal("CompareAndSet(0) over an expired record failed")
	}
}

// testCompareAndSetConcurrent: read-modify-write loops on one record lose
// no update.
func testCompareAndSetConcurrent(t *testing.T, c *Config) {
	s, id := shared(c), newID()
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for i := 0; i < each; {
				rec, found, err := s.Get(ctx, id)
				if err != nil {
					errs <- err
					return
				}
				next := logtohttp.SessionRecord{Values: map[string]string{}, Subject: "u"}
				if found {
					maps.Copy(next.Values, rec.Values)
				} else {
					rec.Version = 0
				}
				next.Values[fmt.Sprintf("w%d-%d", w, i)] = "x"
				ok, err := s.CompareAndSet(ctx, id, rec.Version, next, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				if ok {
					i++
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent CompareAndSet: %v", err)
	}
	got, _ := mustGet(t, s, id)
	if len(got.Values) != workers*each {
		t.Fatalf("%d updates survived of %d", len(got.Values), workers*each)
	}
	if got.Version != workers*each {
		t.Fatalf("version %d after %d successful writes", got.Version, workers*each)
	}
}

func lock(t *testing.T, s logtohttp.SharedSessionStore, id string, ttl time.Duration) string {
	t.Helper()
	tok, err := s.Lock(ctxT(t), id, ttl)
	if err != nil {
		t.Fatalf("Lock(%s): %v", id, err)
	}
	if tok == "" {
		t.Fatal("Lock returned an empty token")
	}
	return tok
}

// tryLock tries to take id within d.
func tryLock(s logtohttp.SharedSessionStore, id string, d time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.Lock(ctx, id, time.Minute)
}

func testLockExcludes(t *testing.T, c *Config) {
	s, id := shared(c), newID()
	tok := lock(t, s, id, time.Minute)
	if _, err := tryLock(s, id, 100*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Lock of a held lock: %v, want an error wrapping context.DeadlineExceeded", err)
	}
	other := lock(t, s, newID(), time.Minute) // other ids are free
	if other == tok {
		t.Fatal("two holds got the same token")
	}
	if err := s.Unlock(ctxT(t), id, "not-the-token"); err != nil {
		t.Fatalf("Unlock with another token: %v", err)
	}
	if _, err := tryLock(s, id, 100*time.Millisecond); err == nil {
		t.Fatal("Unlock with another token released the lock")
	}
	if err := s.Unlock(ctxT(t), id, tok); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	tok2, err := tryLock(s, id, time.Second)
	if err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	if err := s.Unlock(ctxT(t), id, tok); err != nil { // the old token again
		t.Fatalf("Unlock with a stale token: %v", err)
	}
	if _, err := tryLock(s, id, 100*time.Millisecond); err == nil {
		t.Fatal("Unlock with a stale token released the new holder's lock")
	}
	_ = s.Unlock(ctxT(t), id, tok2)
	if err := s.Unlock(ctxT(t), newID(), "x"); err != nil {
		t.Fatalf("Unlock of a lock never taken: %v", err)
	}
}

func testLockExpires(t *testing.T, c *Config) {
	s, id := shared(c), newID()
	lock(t, s, id, 200*time.Millisecond) // the holder "dies"
	start := time.Now()
	tok, err := tryLock(s, id, 5*time.Second)
	if err != nil {
		t.Fatalf("Lock waiting for an expired hold: %v", err)
	}
	if waited := time.Since(start); waited > 4*time.Second {
		t.Fatalf("the lock was taken after %v", waited)
	}
	_ = s.Unlock(ctxT(t), id, tok)
}

// testLockExtend: a holder that extends its lock keeps it past its first
// TTL; another token cannot extend it, nor a holder whose lock was taken.
func testLockExtend(t *testing.T, c *Config) {
	s, id := shared(c), newID()
	tok := lock(t, s, id, 300*time.Millisecond)
	ok, err := s.Extend(ctxT(t), id, tok, time.Minute)
	if err != nil || !ok {
		t.Fatalf("Extend by the holder: %v, %v", ok, err)
	}
	if ok, err := s.Extend(ctxT(t), id, "not-the-token", time.Minute); err != nil || ok {
		t.Fatalf("Extend with another token: %v, %v; want false", ok, err)
	}
	time.Sleep(500 * time.Millisecond)
	if _, err := tryLock(s, id, 100*time.Millisecond); err == nil {
		t.Fatal("an extended lock expired at its first TTL")
	}
	_ = s.Unlock(ctxT(t), id, tok)
	short := lock(t, s, id, 100*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	next, err := tryLock(s, id, time.Second) // takes the expired lock
	if err != nil {
		t.Fatalf("Lock after expiry: %v", err)
	}
	if ok, err := s.Extend(ctxT(t), id, short, time.Minute); err != nil || ok {
		t.Fatalf("Extend by a holder whose lock was taken: %v, %v; want false", ok, err)
	}
	_ = s.Unlock(ctxT(t), id, next)
}

// testLockConcurrent: holders of one lock never overlap.
func testLockConcurrent(t *testing.T, c *Config) {
	s, id := shared(c), newID()
	const workers, each = 6, 5
	var (
		mu      sync.Mutex
		holders int
		overlap bool
		wg      sync.WaitGroup
	)
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				tok, err := s.Lock(ctx, id, 10*time.Second)
				cancel()
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				holders++
				overlap = overlap || holders > 1
				mu.Unlock()
				time.Sleep(time.Millisecond)
				mu.Lock()
				holders--
				mu.Unlock()
				if err := s.Unlock(context.Background(), id, tok); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Lock/Unlock: %v", err)
	}
	if overlap {
		t.Fatal("two holders held the lock at once")
	}
}

func testDeleteUserSessions(t *testing.T, c *Config) {
	s := c.Store
	d := s.(logtohttp.UserSessionDeleter)
	user := "user-" + newID()[:8]
	a, b, other := newID(), newID(), newID()
	recA, recB := sample(user), sample(user)
	recA.SID, recB.SID = "sid-a-"+user, "sid-b-"+user
	mustSet(t, s, a, recA, time.Hour)
	mustSet(t, s, b, recB, time.Hour)
	mustSet(t, s, other, sample("someone-else-"+user), time.Hour)
	n, err := d.DeleteUserSessions(ctxT(t), "", recA.SID)
	if err != nil || n != 1 {
		t.Fatalf("DeleteUserSessions by sid: %d, %v; want 1", n, err)
	}
	if _, ok := mustGet(t, s, a); ok {
		t.Fatal("the record of the sid survived")
	}
	if _, ok := mustGet(t, s, b); !ok {
		t.Fatal("the user's other session was deleted by sid")
	}
	mustSet(t, s, a, recA, time.Hour)
	n, err = d.DeleteUserSessions(ctxT(t), user, "")
	if err != nil || n != 2 {
		t.Fatalf("DeleteUserSessions by subject: %d, %v; want 2", n, err)
	}
	for _, id := range []string{a, b} {
		if _, ok := mustGet(t, s, id); ok {
			t.Fatal("a session of the user survived")
		}
	}
	if _, ok := mustGet(t, s, other); !ok {
		t.Fatal("another user's session was deleted")
	}
	if n, err := d.DeleteUserSessions(ctxT(t), "", ""); err != nil || n != 0 {
		t.Fatalf("DeleteUserSessions with neither subject nor sid: %d, %v", n, err)
	}
}

// testOutage: while the server is down every call fails (within its
// context), a failed write leaves nothing behind, and once the server is
// back the store works again with the data it had.
func testOutage(t *testing.T, c *Config) {
	s, id, idle := c.Store, newID(), newID()
	mustSet(t, s, id, sample("before"), time.Hour)
	restore := c.Outage(t)
	restored := false
	defer func() {
		if !restored {
			restore()
		}
	}()
	call := func(name string, f func(ctx context.Context) error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := f(ctx); err == nil {
			t.Errorf("%s succeeded with the server down", name)
		}
	}
	call("Get", func(ctx context.Context) error { _, _, err := s.Get(ctx, id); return err })
	call("Set", func(ctx context.Context) error { return s.Set(ctx, id, sample("during"), time.Hour) })
	call("Set of a new id", func(ctx context.Context) error { return s.Set(ctx, idle, sample("during"), time.Hour) })
	call("Delete", func(ctx context.Context) error { return s.Delete(ctx, id) })
	if sh, ok := s.(logtohttp.SharedSessionStore); ok {
		call("CompareAndSet", func(ctx context.Context) error {
			_, err := sh.CompareAndSet(ctx, id, 1, sample("during"), time.Hour)
			return err
		})
		call("Lock", func(ctx context.Context) error { _, err := sh.Lock(ctx, id, time.Second); return err })
	}
	restore()
	restored = true
	var got logtohttp.SessionRecord
	eventually(t, "the store did not recover after the server came back", func() bool {
		rec, ok, err := s.Get(context.Background(), id)
		got = rec
		return err == nil && ok
	})
	sameRecord(t, got, sample("before"))
	if _, ok := mustGet(t, s, idle); ok {
		t.Fatal("a write that failed during the outage is there")
	}
	mustSet(t, s, id, sample("after"), time.Hour)
	got, _ = mustGet(t, s, id)
	sameRecord(t, got, sample("after"))
}
