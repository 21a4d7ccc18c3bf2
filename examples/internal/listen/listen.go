// Package listen binds the examples' TCP listeners and explains a failure
// in terms of the environment variable that chose the address, so that a
// busy port tells the person which setting to change.
package listen

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"syscall"
)

// Setting is the environment variable that chose an address.
type Setting struct {
	// Name is the variable, e.g. "PORT" or "LOGTO_PROVIDER_ADDR".
	Name string
	// PortOnly is true when the variable holds a port number alone (as
	// PORT does) rather than host:port.
	PortOnly bool
	// Reserved are ports the program binds for its other listeners: never
	// suggested.
	Reserved []int
}

// suggestTries bounds the search for a free port to suggest.
const suggestTries = 20

// TCP listens on addr. Its error names the setting to change and, when
// the address is in use, suggests a port that is free now.
func TCP(addr string, s Setting) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, Explain(err, addr, s)
	}
	return ln, nil
}

// Explain turns the error of a listen on addr into one that names the
// setting to change. It is for listeners that another package binds (such
// as logtotest.Start); TCP calls it itself. An error that is no listen
// failure (no *net.OpError in its chain) is returned as it is.
func Explain(err error, addr string, s Setting) error {
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		return err
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("cannot listen on %s (%w): set %s to another address", addr, err, s.Name)
	}
	msg := fmt.Sprintf("%s is already in use (another program, or a quickstart still running, listens there): set %s to a free port", addr, s.Name)
	if example, ok := suggest(addr, s); ok {
		msg += ", e.g. " + example
	}
	return &busyError{msg: msg, err: err}
}

// busyError says what to do about a busy address; the system's message,
// which adds nothing, is only in its chain.
type busyError struct {
	msg string
	err error
}

func (e *busyError) Error() string { return e.msg }
func (e *busyError) Unwrap() error { return e.err }

// suggest returns "NAME=value" for the first free port after addr's, if
// one of the next few is free.
func suggest(addr string, s Setting) (string, bool) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return "", false
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port == 0 {
		return "", false
	}
	probeHost := host
	if probeHost == "" {
		probeHost = "127.0.0.1"
	}
	for p := port + 1; p <= port+suggestTries && p <= 65535; p++ {
		if slices.Contains(s.Reserved, p) {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(probeHost, strconv.Itoa(p)))
		if err != nil {
			continue
		}
		_ = ln.Close()
		if s.PortOnly {
			return s.Name + "=" + strconv.Itoa(p), true
		}
		return s.Name + "=" + net.JoinHostPort(host, strconv.Itoa(p)), true
	}
	return "", false
}
