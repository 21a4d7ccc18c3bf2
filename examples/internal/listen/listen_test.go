package listen

import (
	"errors"
	"net"
	"regexp"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTCPBusy(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	addr := busy.Addr().String()
	port := busy.Addr().(*net.TCPAddr).Port

	tests := []struct {
		name    string
		setting Setting
		want    *regexp.Regexp
	}{
		{"port only", Setting{Name: "PORT", PortOnly: true},
			regexp.MustCompile(`^127\.0\.0\.1:\d+ is already in use .*: set PORT to a free port, e\.g\. PORT=(\d+)$`)},
		{"host and port", Setting{Name: "LOGTO_PROVIDER_ADDR"},
			regexp.MustCompile(`set LOGTO_PROVIDER_ADDR to a free port, e\.g\. LOGTO_PROVIDER_ADDR=127\.0\.0\.1:(\d+)$`)},
		{"reserved ports skipped", Setting{Name: "PORT", PortOnly: true, Reserved: []int{port + 1, port + 2}},
			regexp.MustCompile(`e\.g\. PORT=(\d+)$`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := TCP(addr, tt.setting)
			require.Error(t, err)
			assert.Nil(t, ln)
			assert.ErrorIs(t, err, syscall.EADDRINUSE)
			m := tt.want.FindStringSubmatch(err.Error())
			require.NotNil(t, m, err.Error())
			suggested, _ := strconv.Atoi(m[1])
			assert.Greater(t, suggested, port)
			assert.LessOrEqual(t, suggested, port+suggestTries)
			assert.NotContains(t, tt.setting.Reserved, suggested)
		})
	}
}

func TestExplain(t *testing.T) {
	other := &net.OpError{Op: "listen", Net: "tcp", Err: syscall.EACCES}
	err := Explain(other, "127.0.0.1:80", Setting{Name: "PORT", PortOnly: true})
	assert.Equal(t, "cannot listen on 127.0.0.1:80 (listen tcp: permission denied): set PORT to another address", err.Error())
	assert.ErrorIs(t, err, syscall.EACCES)

	notListen := errors.New("generate a signing key: no entropy")
	assert.Same(t, notListen, Explain(notListen, "127.0.0.1:3001", Setting{Name: "LOGTO_PROVIDER_ADDR"}))
}

func TestTCPFree(t *testing.T) {
	ln, err := TCP("127.0.0.1:0", Setting{Name: "PORT", PortOnly: true})
	require.NoError(t, err)
	assert.NoError(t, ln.Close())
}
