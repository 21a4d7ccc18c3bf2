package logtocli

import (
	"errors"
	"strings"

	"github.com/gologto/logto"
)

// Sentinel errors of the package. Compare with errors.Is.
var (
	// ErrCorruptFile means a token file holds something FileStorage did
	// not write: it is damaged, truncated, foreign, or from a newer
	// version. The profile then reads as signed out; FileStorage refuses to
	// write over the file until FileStorage.Clear removes it.
	ErrCorruptFile = errors.New("logtocli: token file is unreadable")

	// ErrLockTimeout means another process held the profile's lock file
	// for longer than FileStorageOptions.LockTimeout.
	ErrLockTimeout = errors.New("logtocli: timed out waiting for the token file lock")

	// ErrInvalidProfile means a profile name is empty, too long, or holds
	// characters other than lower-case letters, digits, '.', '_' and '-'.
	ErrInvalidProfile = errors.New("logtocli: invalid profile name")

	// ErrPortInUse means the configured loopback port is taken by another
	// program.
	ErrPortInUse = errors.New("logtocli: loopback port is in use")

	// ErrLoopbackTimeout means no redirect reached the loopback listener
	// within LoopbackOptions.Timeout.
	ErrLoopbackTimeout = errors.New("logtocli: the sign-in did not complete in time")
)

// FileError is a FileStorage failure about one file. It matches
// logto.ErrStorage and its cause with errors.Is; read Path with errors.As.
type FileError struct {
	// Op is what FileStorage was doing: "read", "write", "lock" or "clear".
	Op string
	// Path is the file concerned.
	Path string
	// Err is the cause, e.g. ErrCorruptFile, ErrLockTimeout or an *os.PathError.
	Err error
}

// Error implements error.
func (e *FileError) Error() string {
	return "logtocli: " + e.Op + " " + e.Path + ": " + strings.TrimPrefix(e.Err.Error(), "logtocli: ")
}

// Unwrap returns logto.ErrStorage and the cause.
func (e *FileError) Unwrap() []error { return []error{logto.ErrStorage, e.Err} }
