package logtotest

import "time"

// clockReading is the server clock: base, and with WithWallClock the wall
// time since wallStart on top.
type clockReading struct {
	base      time.Time
	wallStart time.Time
}

// Now returns the server clock, used for every timestamp the fake issues or
// checks. It stands still unless Advance or SetNow is called (or
// WithWallClock is used). It takes no lock, so that a client using it as
// its clock (logto.WithClock) is not slowed by it.
func (s *Server) Now() time.Time {
	c := s.clock.Load()
	if s.opts.wallClock {
		return c.base.Add(time.Since(c.wallStart))
	}
	return c.base
}

// nowLocked is Now for code holding mu, under which the clock does not
// move.
func (s *Server) nowLocked() time.Time { return s.Now() }

// Advance moves the server clock forward by d (backward if d is negative).
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *s.clock.Load()
	c.base = c.base.Add(d)
	s.clock.Store(&c)
}

// SetNow sets the server clock to t.
func (s *Server) SetNow(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock.Store(&clockReading{base: t, wallStart: time.Now()})
}
