//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos

package logtocli

import (
	"context"
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock on path (created 0600 if absent),
// retrying without blocking until ctx ends. The lock dies with the process,
// so a crash never leaves the profile locked; the file itself stays.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	var wait = lockWait(0)
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(fd, syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, err
		}
		if err := sleepCtx(ctx, wait); err != nil {
			_ = f.Close()
			return nil, err
		}
		wait = lockWait(wait)
	}
}

// replaceFile renames from over to.
func replaceFile(from, to string) error { return os.Rename(from, to) }
