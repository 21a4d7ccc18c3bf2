package logtocli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

func newFileStorage(t *testing.T, dir, profile string) *FileStorage {
	t.Helper()
	s, err := NewFileStorage(FileStorageOptions{Dir: dir, Profile: profile})
	require.NoError(t, err)
	return s
}

// TestFileStorageRoundTrip: values survive a new FileStorage (a new
// process), the file has mode 0600 in a 0700 directory, holds the golden
// format, and goes with its last key.
func TestFileStorageRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "tool")
	s := newFileStorage(t, dir, "")
	assert.Equal(t, filepath.Join(dir, "default.json"), s.Path())
	assert.Equal(t, DefaultProfile, s.Profile())

	v, err := s.Get(ctx, "idToken")
	require.NoError(t, err)
	assert.Empty(t, v, "absent file: signed out, no error")
	require.NoError(t, s.Delete(ctx, "idToken"))
	_, err = os.Lstat(dir)
	assert.ErrorIs(t, err, fs.ErrNotExist, "a delete from nothing creates nothing")

	require.NoError(t, s.Set(ctx, logto.StorageKeyIDToken, "id.token.value"))
	require.NoError(t, s.Set(ctx, logto.StorageKeyRefreshToken, "rt-1"))
	require.NoError(t, s.Set(ctx, logto.StorageKeyAccessTokens, `{"":{"token":"at","expiresAt":1}}`))
	require.NoError(t, s.Set(ctx, logto.StorageKeyRefreshToken, "rt-2"))

	got, err := os.ReadFile(s.Path())
	require.NoError(t, err)
	golden, err := os.ReadFile(filepath.Join("testdata", "session.golden.json"))
	require.NoError(t, err)
	assert.Equal(t, string(golden), string(got))

	if runtime.GOOS != "windows" {
		fi, err := os.Stat(s.Path())
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o600), fi.Mode().Perm(), "token file mode")
		di, err := os.Stat(dir)
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o700), di.Mode().Perm(), "directory mode")
	}

	again := newFileStorage(t, dir, "")
	for k, want := range map[string]string{
		logto.StorageKeyIDToken:      "id.token.value",
		logto.StorageKeyRefreshToken: "rt-2",
		logto.StorageKeyAccessTokens: `{"":{"token":"at","expiresAt":1}}`,
		"absent":                     "",
	} {
		v, err := again.Get(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, want, v, k)
	}

	for _, k := range []string{logto.StorageKeyIDToken, logto.StorageKeyRefreshToken, logto.StorageKeyAccessTokens} {
		require.NoError(t, again.Delete(ctx, k))
	}
	_, err = os.Lstat(s.Path())
	assert.ErrorIs(t, err, fs.ErrNotExist, "the file goes with its last key")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.Equal(t, "default.lock", e.Name(), "only the lock file remains")
	}
}

// TestFileStorageProfiles: names are validated, and each profile is its
// own file.
func TestFileStorageProfiles(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"default", true},
		{"work", true},
		{"a", true},
		{"user.example-1_2", true},
		{"0", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", true}, // the default profile
		{"Work", false},
		{"../etc", false},
		{"a/b", false},
		{`a\b`, false},
		{".", false},
		{"..", false},
		{".hidden", false},
		{"-flag", false},
		{"a b", false},
		{"a\x00b", false},
		{"é", false},
		{"con", false},
		{"nul.work", false},
		{"com1", false},
		{"console", true},
	} {
		t.Run(strconv.Quote(tc.name), func(t *testing.T) {
			s, err := NewFileStorage(FileStorageOptions{Dir: dir, Profile: tc.name})
			if !tc.ok {
				assert.ErrorIs(t, err, ErrInvalidProfile)
				assert.Nil(t, s)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, dir, filepath.Dir(s.Path()), "the file stays in the directory")
		})
	}

	ctx := context.Background()
	work, home := newFileStorage(t, dir, "work"), newFileStorage(t, dir, "home")
	require.NoError(t, work.Set(ctx, "k", "work"))
	require.NoError(t, home.Set(ctx, "k", "home"))
	v, _ := work.Get(ctx, "k")
	assert.Equal(t, "work", v)
	v, _ = home.Get(ctx, "k")
	assert.Equal(t, "home", v)
	require.NoError(t, work.Clear(ctx))
	v, _ = home.Get(ctx, "k")
	assert.Equal(t, "home", v, "Clear leaves other profiles")

	for _, app := range []string{"", ".", "..", "a/b", `a\b`} {
		_, err := NewFileStorage(FileStorageOptions{App: app})
		assert.Error(t, err, "App %q", app)
	}
	_, err := NewFileStorage(FileStorageOptions{Dir: dir, LockTimeout: -1})
	assert.Error(t, err)
}

// TestFileStorageCorrupt: content FileStorage did not write reads as
// signed out with an error naming the file, is never written over, and
// Clear recovers.
func TestFileStorageCorrupt(t *testing.T) {
	valid := `{"logtocli":1,"values":{"idToken":"x"}}`
	for _, tc := range []struct {
		name    string
		content string
		dir     bool // a directory where the file should be
	}{
		{name: "empty", content: ""},
		{name: "not JSON", content: "idToken=abc"},
		{name: "binary", content: "\x00\xff\xfe\x01"},
		{name: "truncated", content: valid[:len(valid)/2]},
		{name: "trailing garbage", content: valid + "}"},
		{name: "foreign object", content: `{"access_token":"abc","refresh_token":"def"}`},
		{name: "array", content: `["idToken"]`},
		{name: "null", content: `null`},
		{name: "no values", content: `{"logtocli":1}`},
		{name: "values not strings", content: `{"logtocli":1,"values":{"idToken":42}}`},
		{name: "version zero", content: `{"logtocli":0,"values":{}}`},
		{name: "newer version", content: `{"logtocli":2,"values":{"idToken":"x"}}`},
		{name: "too large", content: `{"logtocli":1,"values":{"k":"` + strings.Repeat("a", MaxFileSize) + `"}}`},
		{name: "directory", dir: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s := newFileStorage(t, dir, "")
			if tc.dir {
				require.NoError(t, os.Mkdir(s.Path(), 0o700))
			} else {
				require.NoError(t, os.WriteFile(s.Path(), []byte(tc.content), 0o600))
			}

			_, err := s.Get(ctx, logto.StorageKeyIDToken)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrCorruptFile)
			assert.ErrorIs(t, err, logto.ErrStorage)
			var fe *FileError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, s.Path(), fe.Path)
			assert.Contains(t, err.Error(), s.Path(), "the message names the file")
			assert.Less(t, len(err.Error()), 300, "a short message, not the content")

			client, cerr := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: "http://127.0.0.1:1", AppId: "app"}, s)
			require.NoError(t, cerr)
			assert.False(t, client.IsAuthenticated(ctx), "reads as signed out")
			_, err = client.GetIdToken(ctx)
			assert.ErrorIs(t, err, ErrCorruptFile, "through the client too")

			assert.ErrorIs(t, s.Set(ctx, "k", "v"), ErrCorruptFile, "Set refuses to write over it")
			assert.ErrorIs(t, s.Delete(ctx, "k"), ErrCorruptFile, "Delete too")
			assert.ErrorIs(t, s.WithLock(ctx, func(logto.Storage) error {
				t.Error("fn ran on an unreadable file")
				return nil
			}), ErrCorruptFile)
			if !tc.dir {
				got, err := os.ReadFile(s.Path())
				require.NoError(t, err)
				assert.Equal(t, tc.content, string(got), "the file is as it was")
			}

			require.NoError(t, s.Clear(ctx))
			require.NoError(t, s.Set(ctx, "k", "v"))
			v, err := s.Get(ctx, "k")
			require.NoError(t, err)
			assert.Equal(t, "v", v)
		})
	}
}

// TestFileStorageWithLock: the locked Storage reads and writes through,
// excludes another FileStorage of the profile, and dies with WithLock.
func TestFileStorageWithLock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := newFileStorage(t, dir, "")
	require.NoError(t, s.Set(ctx, "a", "1"))

	var view logto.Storage
	require.NoError(t, s.WithLock(ctx, func(st logto.Storage) error {
		view = st
		v, err := st.Get(ctx, "a")
		require.NoError(t, err)
		assert.Equal(t, "1", v)
		require.NoError(t, st.Set(ctx, "b", "2"))
		require.NoError(t, st.Delete(ctx, "a"))

		// Another FileStorage (as another process would) sees each write
		// at once, and cannot write until the lock is released.
		other, err := NewFileStorage(FileStorageOptions{Dir: dir, LockTimeout: 50 * time.Millisecond})
		require.NoError(t, err)
		v, err = other.Get(ctx, "b")
		require.NoError(t, err)
		assert.Equal(t, "2", v)
		err = other.Set(ctx, "c", "3")
		assert.ErrorIs(t, err, ErrLockTimeout)
		assert.ErrorIs(t, err, logto.ErrStorage)
		var fe *FileError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "lock", fe.Op)
		assert.Equal(t, filepath.Join(dir, "default.lock"), fe.Path)

		cctx, cancel := context.WithCancel(ctx)
		cancel()
		assert.ErrorIs(t, other.Set(cctx, "c", "3"), context.Canceled, "the wait honours ctx")
		return nil
	}))
	_, err := view.Get(ctx, "b")
	assert.Error(t, err, "the view is dead once WithLock returned")
	assert.Error(t, view.Set(ctx, "b", "x"))

	v, _ := s.Get(ctx, "b")
	assert.Equal(t, "2", v)
	v, _ = s.Get(ctx, "a")
	assert.Empty(t, v)

	wantErr := errors.New("boom")
	assert.ErrorIs(t, s.WithLock(ctx, func(logto.Storage) error { return wantErr }), wantErr)
	require.NoError(t, s.Set(ctx, "c", "3"), "the lock was released after an error")
}

// TestFileStorageConcurrentGoroutines: writers of one FileStorage and of
// two FileStorages of the profile lose no update.
func TestFileStorageConcurrentGoroutines(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	stores := []*FileStorage{newFileStorage(t, dir, ""), newFileStorage(t, dir, "")}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[g%2]
			for i := 0; i < 10; i++ {
				assert.NoError(t, s.Set(ctx, fmt.Sprintf("g%d-%d", g, i), "v"))
				assert.NoError(t, increment(ctx, s, "counter"))
			}
		}()
	}
	wg.Wait()
	v, err := stores[0].Get(ctx, "counter")
	require.NoError(t, err)
	assert.Equal(t, "80", v)
	for g := 0; g < 8; g++ {
		for i := 0; i < 10; i++ {
			v, _ := stores[1].Get(ctx, fmt.Sprintf("g%d-%d", g, i))
			assert.Equal(t, "v", v, "g%d-%d", g, i)
		}
	}
}

// increment adds one to the number under key, under the profile's lock.
func increment(ctx context.Context, s *FileStorage, key string) error {
	return s.WithLock(ctx, func(st logto.Storage) error {
		v, err := st.Get(ctx, key)
		if err != nil {
			return err
		}
		n, _ := strconv.Atoi(v)
		return st.Set(ctx, key, strconv.Itoa(n+1))
	})
}

// helperEnv runs TestFileStorageHelperProcess as a child process.
const helperEnv = "LOGTOCLI_FILESTORAGE_HELPER"

// TestFileStorageHelperProcess is the child process of the tests below;
// it does nothing in a normal run. Modes: "write <dir> <name> <n>" sets n
// keys and increments a shared counter n times; "crash <dir>" starts a
// write and stops half-way, printing "half" and waiting to be killed.
func TestFileStorageHelperProcess(t *testing.T) {
	args := strings.Fields(os.Getenv(helperEnv))
	if len(args) == 0 {
		t.Skip("child process of other tests")
	}
	ctx := context.Background()
	s, err := NewFileStorage(FileStorageOptions{Dir: args[1]})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	switch args[0] {
	case "write":
		n, _ := strconv.Atoi(args[3])
		fmt.Println("ready")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // start together
		for i := 0; i < n; i++ {
			if err := s.Set(ctx, fmt.Sprintf("%s-%d", args[2], i), "v"); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
			if err := increment(ctx, s, "counter"); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
		}
	case "crash":
		s.crashHook = func() {
			fmt.Println("half")
			time.Sleep(time.Hour)
		}
		_ = s.Set(ctx, logto.StorageKeyIDToken, "new-token-that-never-lands")
	}
	os.Exit(0)
}

func helperCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFileStorageHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+strings.Join(args, " "))
	cmd.Stderr = os.Stderr
	return cmd
}

// TestFileStorageTwoProcesses: two processes writing the profile at once
// (own keys, and a counter both increment under WithLock) lose no update.
func TestFileStorageTwoProcesses(t *testing.T) {
	dir := t.TempDir()
	const n = 40
	type child struct {
		cmd   *exec.Cmd
		stdin interface{ Close() error }
		out   *bufio.Reader
	}
	var children []child
	for _, name := range []string{"p1", "p2"} {
		cmd := helperCommand(t, "write", dir, name, strconv.Itoa(n))
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		out := bufio.NewReader(stdout)
		line, err := out.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "ready\n", line)
		children = append(children, child{cmd, stdin, out})
	}
	for _, c := range children {
		require.NoError(t, c.stdin.Close()) // go
	}
	for _, c := range children {
		require.NoError(t, c.cmd.Wait())
	}

	ctx := context.Background()
	s := newFileStorage(t, dir, "")
	v, err := s.Get(ctx, "counter")
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(2*n), v, "no increment was lost")
	for _, name := range []string{"p1", "p2"} {
		for i := 0; i < n; i++ {
			v, _ := s.Get(ctx, fmt.Sprintf("%s-%d", name, i))
			assert.Equal(t, "v", v, "%s-%d", name, i)
		}
	}
}

// TestFileStorageCrash: a process killed in the middle of a write leaves
// the file as it was (the half-written temporary file is never read), and
// the next write removes the leftover.
func TestFileStorageCrash(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := newFileStorage(t, dir, "")
	require.NoError(t, s.Set(ctx, logto.StorageKeyIDToken, "old-token"))
	before, err := os.ReadFile(s.Path())
	require.NoError(t, err)

	cmd := helperCommand(t, "crash", dir)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "half\n", line)
	temps := tempFiles(t, dir)
	require.Len(t, temps, 1, "the child is half-way through its temporary file")
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()

	after, err := os.ReadFile(s.Path())
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after), "the file is whole and unchanged")
	v, err := s.Get(ctx, logto.StorageKeyIDToken)
	require.NoError(t, err)
	assert.Equal(t, "old-token", v)

	require.NoError(t, s.Set(ctx, logto.StorageKeyRefreshToken, "rt"), "the dead process's lock died with it")
	assert.Empty(t, tempFiles(t, dir), "the leftover was removed")
}

// tempFiles lists the temporary files in dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestFileStorageFailedWrite: a write that fails leaves the file and no
// temporary file behind.
func TestFileStorageFailedWrite(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("needs directory permissions that bind the user")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s := newFileStorage(t, dir, "")
	require.NoError(t, s.Set(ctx, "k", "v1"))
	require.NoError(t, os.Chmod(dir, 0o500))
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	err := s.Set(ctx, "k", "v2")
	require.Error(t, err)
	assert.ErrorIs(t, err, logto.ErrStorage)
	require.NoError(t, os.Chmod(dir, 0o700))
	v, err := s.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "v1", v)
	assert.Empty(t, tempFiles(t, dir))
}
