package logtotest

import "time"

// Now returns the server clock, used for every timestamp the fake issues or
// checks. It stands still unless Advance or SetNow is called (or
// WithWallClock is used).
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time {
	if s.opts.wallClock {
		return s.clockBase.Add(time.Since(s.wallStart))
	}
	return s.clockBase
}

// Advance moves the server clock forward by d (backward if d is negative).
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clockBase = s.clockBase.Add(d)
}

// SetNow sets the server clock to t.
func (s *Server) SetNow(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clockBase = t
	s.wallStart = time.Now()
}
