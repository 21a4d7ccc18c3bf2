package logtocli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gologto/logto"
)

// DefaultLockTimeout is how long FileStorage waits for another process to
// release a profile's lock before it gives up with ErrLockTimeout.
const DefaultLockTimeout = time.Minute

// MaxFileSize bounds a token file; a larger file reads as ErrCorruptFile.
// A session takes a few kilobytes.
const MaxFileSize = 1 << 20

// fileVersion is the format version FileStorage writes and reads.
const fileVersion = 1

// FileStorageOptions locate a FileStorage.
type FileStorageOptions struct {
	// App names the tool: the files go in the directory App under
	// os.UserConfigDir() (~/.config/App on Linux, ~/Library/Application
	// Support/App on macOS, %AppData%\App on Windows). Required unless Dir
	// is set. One path element: no separator.
	App string
	// Dir, when set, is the directory of the files instead.
	Dir string
	// Profile names the account, so that one tool can hold several;
	// DefaultProfile when empty. See ValidateProfile.
	Profile string
	// LockTimeout bounds the wait for another process holding the lock;
	// DefaultLockTimeout when zero.
	LockTimeout time.Duration
}

// FileStorage is a logto.Storage kept in one JSON file per profile,
// <dir>/<profile>.json, for command-line tools and desktop apps.
//
// Every write replaces the file atomically (a temporary file in the same
// directory, fsync, rename), so a reader or a crash never sees half a
// file; the file has mode 0600 and the directory, when FileStorage
// creates it, 0700. Writes take an exclusive lock on <profile>.lock
// (flock on Linux, macOS and the BSDs; elsewhere an exclusive-create lock
// file, taken over when older than two minutes), so two processes of the
// same tool never lose each other's updates; reads take no lock. A
// session spans several keys: to keep a whole read-refresh-write sequence
// from racing another process (refresh tokens rotate), run it in WithLock.
//
// A file FileStorage did not write (damaged, truncated, foreign, too
// large, from a newer version) makes Get, Set and Delete fail with a
// *FileError wrapping ErrCorruptFile and logto.ErrStorage: the client
// reads as signed out, and nothing overwrites the file until Clear
// removes it. It is safe for concurrent use.
type FileStorage struct {
	dir, path, lockPath, profile string
	lockTimeout                  time.Duration
	// sem serialises this value's writers before the file lock; a channel
	// so that waiting honours the context.
	sem chan struct{}
	// crashHook, when set (tests only), runs after half of a temporary
	// file is written.
	crashHook func()
}

var _ logto.Storage = (*FileStorage)(nil)

// NewFileStorage checks opts and returns the FileStorage of a profile. It
// creates nothing: the directory and file appear with the first write.
func NewFileStorage(opts FileStorageOptions) (*FileStorage, error) {
	profile := opts.Profile
	if profile == "" {
		profile = DefaultProfile
	}
	if err := ValidateProfile(profile); err != nil {
		return nil, err
	}
	if opts.LockTimeout < 0 {
		return nil, fmt.Errorf("logtocli: FileStorageOptions.LockTimeout is negative")
	}
	dir := opts.Dir
	if dir == "" {
		app := opts.App
		if app == "" || app == "." || app == ".." || strings.ContainsAny(app, `/\`) || filepath.Base(app) != app {
			return nil, fmt.Errorf("logtocli: FileStorageOptions.App must be one directory name (got %q), or set Dir", app)
		}
		base, err := os.UserConfigDir()
		if err != nil {
			return nil, fmt.Errorf("logtocli: no user configuration directory (set FileStorageOptions.Dir): %w", err)
		}
		dir = filepath.Join(base, app)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("logtocli: FileStorageOptions.Dir: %w", err)
	}
	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = DefaultLockTimeout
	}
	return &FileStorage{
		dir:         dir,
		path:        filepath.Join(dir, profile+".json"),
		lockPath:    filepath.Join(dir, profile+".lock"),
		profile:     profile,
		lockTimeout: timeout,
		sem:         make(chan struct{}, 1),
	}, nil
}

// Path returns the profile's token file.
func (s *FileStorage) Path() string { return s.path }

// Profile returns the profile name.
func (s *FileStorage) Profile() string { return s.profile }

// Dir returns the directory of the files.
func (s *FileStorage) Dir() string { return s.dir }

// Get returns the value of key, or "" when the key or the file is absent.
func (s *FileStorage) Get(_ context.Context, key string) (string, error) {
	values, _, err := s.read()
	if err != nil {
		return "", err
	}
	return values[key], nil
}

// Set stores value under key.
func (s *FileStorage) Set(ctx context.Context, key, value string) error {
	return s.update(ctx, map[string]string{key: value}, false)
}

// Delete removes key. The file goes when its last key does.
func (s *FileStorage) Delete(ctx context.Context, key string) error {
	if _, err := os.Lstat(s.path); errors.Is(err, fs.ErrNotExist) {
		return nil // nothing to delete, and no directory to create for it
	}
	return s.update(ctx, map[string]string{key: ""}, true)
}

// Clear removes the profile's file whatever it holds, unreadable content
// included: the way to recover from ErrCorruptFile (the user signs in
// again). Other profiles are untouched.
func (s *FileStorage) Clear(ctx context.Context) error {
	if _, err := os.Lstat(s.dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	release, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	s.removeTemps()
	if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return &FileError{Op: "clear", Path: s.path, Err: err}
	}
	syncDir(s.dir)
	return nil
}

// WithLock runs fn holding the profile's lock, with a Storage that reads
// the file once and writes through to it: no other process or FileStorage
// writes the profile meanwhile. Use it around a sequence that reads and
// writes several keys, such as a token refresh:
//
//	err := store.WithLock(ctx, func(st logto.Storage) error {
//		token, err = client.WithStorage(st).GetAccessToken(ctx, resource)
//		return err
//	})
//
// fn must use only the Storage it is given: the FileStorage's own writes
// wait for the lock until ctx ends. That Storage fails once WithLock has
// returned. An unreadable file fails WithLock before fn runs.
func (s *FileStorage) WithLock(ctx context.Context, fn func(logto.Storage) error) error {
	release, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	values, _, err := s.read()
	if err != nil {
		return err
	}
	view := &lockedStorage{s: s, values: values}
	defer view.close()
	return fn(view)
}

// setValues writes several keys in one atomic replacement of the file; an
// empty value deletes its key.
func (s *FileStorage) setValues(ctx context.Context, kv map[string]string) error {
	return s.update(ctx, kv, false)
}

// update applies kv (empty values delete) under the lock. A delete-only
// update of an absent file writes nothing.
func (s *FileStorage) update(ctx context.Context, kv map[string]string, deleteOnly bool) error {
	release, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	values, exists, err := s.read()
	if err != nil {
		return err
	}
	if !exists && deleteOnly {
		return nil
	}
	apply(values, kv)
	return s.write(values)
}

// apply sets kv in values; an empty value deletes its key.
func apply(values, kv map[string]string) {
	for k, v := range kv {
		if v == "" {
			delete(values, k)
		} else {
			values[k] = v
		}
	}
}

// fileContent is the JSON of a token file.
type fileContent struct {
	// Version is fileVersion; its name marks the file as FileStorage's.
	Version int               `json:"logtocli"`
	Values  map[string]string `json:"values"`
}

// read returns the file's values (empty, exists false, when the file is
// absent).
func (s *FileStorage) read() (map[string]string, bool, error) {
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, false, nil
	}
	if err != nil {
		return nil, false, &FileError{Op: "read", Path: s.path, Err: err}
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		return nil, true, s.corrupt("not a regular file")
	}
	raw, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, true, &FileError{Op: "read", Path: s.path, Err: err}
	}
	if len(raw) > MaxFileSize {
		return nil, true, s.corrupt("larger than " + strconv.Itoa(MaxFileSize) + " bytes")
	}
	var c fileContent
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, true, s.corrupt("not the JSON FileStorage writes")
	}
	switch {
	case c.Version > fileVersion:
		return nil, true, s.corrupt("written by a newer version (format " + strconv.Itoa(c.Version) + ")")
	case c.Version != fileVersion || c.Values == nil:
		return nil, true, s.corrupt("not a logtocli token file")
	}
	return c.Values, true, nil
}

func (s *FileStorage) corrupt(reason string) error {
	return &FileError{Op: "read", Path: s.path, Err: fmt.Errorf("%w: %s", ErrCorruptFile, reason)}
}

// tempPrefix starts the names of the profile's temporary files; the rest
// of the name is digits (os.CreateTemp), which no other profile's
// temporary file matches.
func (s *FileStorage) tempPrefix() string { return "." + s.profile + ".tmp-" }

// write replaces the file with values atomically, or removes it when
// values is empty. The caller holds the lock.
func (s *FileStorage) write(values map[string]string) error {
	s.removeTemps()
	if len(values) == 0 {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return &FileError{Op: "write", Path: s.path, Err: err}
		}
		syncDir(s.dir)
		return nil
	}
	data, err := json.Marshal(fileContent{Version: fileVersion, Values: values})
	if err != nil {
		return &FileError{Op: "write", Path: s.path, Err: err}
	}
	data = append(data, '\n')
	if err := s.writeAtomic(data); err != nil {
		return &FileError{Op: "write", Path: s.path, Err: err}
	}
	return nil
}

// writeAtomic writes data to a temporary file (mode 0600) in the same
// directory, syncs it and renames it over the file.
func (s *FileStorage) writeAtomic(data []byte) (err error) {
	tmp, err := os.CreateTemp(s.dir, s.tempPrefix()+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return err
	}
	half := len(data) / 2
	if _, err := tmp.Write(data[:half]); err != nil {
		return err
	}
	if s.crashHook != nil {
		s.crashHook()
	}
	if _, err := tmp.Write(data[half:]); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := replaceFile(tmp.Name(), s.path); err != nil {
		return err
	}
	syncDir(s.dir)
	return nil
}

// removeTemps removes temporary files a crashed writer left. The caller
// holds the lock, so no live writer of the profile has one.
func (s *FileStorage) removeTemps() {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	prefix := s.tempPrefix()
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
			_ = os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
}

// syncDir makes a rename or removal in dir durable, where the system
// allows syncing a directory (best effort: some file systems refuse it).
func syncDir(dir string) {
	if runtime.GOOS == "windows" {
		return
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// acquire takes this value's semaphore and the profile's file lock,
// creating the directory (0700) if needed, within LockTimeout and ctx.
func (s *FileStorage) acquire(ctx context.Context) (func(), error) {
	lockCtx, cancel := context.WithTimeoutCause(ctx, s.lockTimeout, ErrLockTimeout)
	defer cancel()
	select {
	case s.sem <- struct{}{}:
	case <-lockCtx.Done():
		return nil, &FileError{Op: "lock", Path: s.lockPath, Err: context.Cause(lockCtx)}
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		<-s.sem
		return nil, &FileError{Op: "lock", Path: s.lockPath, Err: err}
	}
	unlock, err := lockFile(lockCtx, s.lockPath)
	if err != nil {
		<-s.sem
		return nil, &FileError{Op: "lock", Path: s.lockPath, Err: err}
	}
	return func() {
		unlock()
		<-s.sem
	}, nil
}

// lockWait is the next pause of a lock retry loop: doubling from 2 ms up
// to 50 ms, so a waiter never spins.
func lockWait(prev time.Duration) time.Duration {
	if prev <= 0 {
		return 2 * time.Millisecond
	}
	return min(prev*2, 50*time.Millisecond)
}

// sleepCtx waits d or until ctx ends, and returns the context's cause
// then.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// lockedStorage is the Storage of WithLock: the file's values, written
// through on every change.
type lockedStorage struct {
	s      *FileStorage
	mu     sync.Mutex
	values map[string]string
	closed bool
}

// errLockReleased reports a WithLock Storage used after WithLock returned.
var errLockReleased = errors.New("logtocli: the Storage of WithLock was used after WithLock returned")

func (v *lockedStorage) close() {
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
}

// Get implements logto.Storage.
func (v *lockedStorage) Get(_ context.Context, key string) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return "", errLockReleased
	}
	return v.values[key], nil
}

// Set implements logto.Storage.
func (v *lockedStorage) Set(_ context.Context, key, value string) error {
	return v.change(map[string]string{key: value})
}

// Delete implements logto.Storage.
func (v *lockedStorage) Delete(_ context.Context, key string) error {
	return v.change(map[string]string{key: ""})
}

// setValues writes several keys at once, as FileStorage.setValues.
func (v *lockedStorage) setValues(_ context.Context, kv map[string]string) error {
	return v.change(kv)
}

func (v *lockedStorage) change(kv map[string]string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return errLockReleased
	}
	next := make(map[string]string, len(v.values)+len(kv))
	for k, val := range v.values {
		next[k] = val
	}
	apply(next, kv)
	if err := v.s.write(next); err != nil {
		return err
	}
	v.values = next
	return nil
}
