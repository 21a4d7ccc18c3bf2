//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos)

package logtocli

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"time"
)

// staleLockAge is the age past which an exclusive-create lock file is
// taken to be left by a crashed process. No write holds the lock that
// long; WithLock around a refresh holds it for one HTTP exchange.
const staleLockAge = 2 * time.Minute

// lockFile is the fallback where flock is not available: the lock is the
// existence of path, created exclusively (O_EXCL) and removed on release.
// A file older than staleLockAge is removed as the leftover of a crash.
func lockFile(ctx context.Context, path string) (func(), error) {
	var wait = lockWait(0)
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, _ = f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
			_ = f.Close()
			return func() { _ = os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > staleLockAge {
			_ = os.Remove(path)
			continue
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return nil, err
		}
		wait = lockWait(wait)
	}
}

// replaceFile renames from over to, retrying for a moment: on Windows a
// reader holding the file open makes the rename fail.
func replaceFile(from, to string) error {
	var err error
	for i := 0; i < 20; i++ {
		if err = os.Rename(from, to); err == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return err
}
