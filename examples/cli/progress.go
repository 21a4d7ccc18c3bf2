package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// plainEvery spaces the progress lines written to a file or pipe.
const plainEvery = 30 * time.Second

// progress shows, while the device flow polls, how long the user has left
// to approve. On a terminal one line counts down every second; elsewhere
// (a pipe, a log) a line is written at the first poll and then at most
// every 30 s.
type progress struct {
	w         io.Writer
	tty       bool
	now       func() time.Time
	expiresAt time.Time

	mu      sync.Mutex
	polls   int
	lastOut time.Time
	stop    chan struct{}
	done    chan struct{}
}

func newProgress(w io.Writer, tty bool, now func() time.Time, expiresAt time.Time) *progress {
	p := &progress{w: w, tty: tty, now: now, expiresAt: expiresAt}
	if tty {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.tick()
	}
	return p
}

// line is the progress message with left time remaining.
func line(left time.Duration, polls int) string {
	if left < 0 {
		left = 0
	}
	msg := "Waiting for the sign-in to be approved; the code expires in " + left.Truncate(time.Second).String()
	if polls > 0 {
		msg += fmt.Sprintf(" (checked %d×)", polls)
	}
	return msg
}

// poll is DeviceWaitOptions.OnPoll: called before each wait.
func (p *progress) poll(left time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		p.polls++
		return
	}
	now := p.now()
	if p.polls == 0 || now.Sub(p.lastOut) >= plainEvery {
		fmt.Fprintln(p.w, line(left, 0))
		p.lastOut = now
	}
	p.polls++
}

// tick rewrites the terminal line every second.
func (p *progress) tick() {
	defer close(p.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		p.mu.Lock()
		fmt.Fprint(p.w, "\r\033[K"+line(p.expiresAt.Sub(p.now()), p.polls))
		p.mu.Unlock()
		select {
		case <-p.stop:
			fmt.Fprint(p.w, "\r\033[K")
			return
		case <-t.C:
		}
	}
}

// finish stops the countdown and clears its line.
func (p *progress) finish() {
	if p.tty {
		close(p.stop)
		<-p.done
	}
}
