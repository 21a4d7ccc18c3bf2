package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// report is the outcome of one store's soak.
type report struct {
	store    string
	sessions int
	ttl      time.Duration

	signInTime, elapsed      time.Duration
	killedAt, storeRestartAt time.Duration
	wave1Done                time.Duration
	storeDowntime            time.Duration
	served, unauthorized     atomic.Int64
	failedInstance           atomic.Int64
	failedStore, failedOther atomic.Int64
	refreshes, expiries      int
	maxPerExpiry, lost       int
	revoked                  int
	p50, p99                 time.Duration
	problems                 []string

	mu      sync.Mutex
	reasons map[string]int // of the failed requests
}

func (r *report) countFailure(d *disruptions, status int, err error) {
	reason := fmt.Sprintf("status %d", status)
	if err != nil {
		reason = err.Error()
		if i := strings.LastIndex(reason, ": "); i >= 0 {
			reason = reason[i+2:]
		}
	}
	r.mu.Lock()
	if r.reasons == nil {
		r.reasons = map[string]int{}
	}
	r.reasons[reason]++
	r.mu.Unlock()
	switch {
	case d.instanceDown.active():
		r.failedInstance.Add(1)
	case d.storeDown.active():
		r.failedStore.Add(1)
	default:
		r.failedOther.Add(1)
	}
}

func (r *report) perExpiry() float64 {
	if r.expiries == 0 {
		return 0
	}
	return float64(r.refreshes) / float64(r.expiries)
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "== %s: %d sessions, 3 instances, tokens expiring together every %v, run %v (sign-ins %v)\n",
		r.store, r.sessions, r.ttl, r.elapsed.Round(time.Second), r.signInTime.Round(time.Millisecond))
	fmt.Fprintf(w, "first expiry's refreshes stored at %v; instance killed at %v (a new one 3 s later)", r.wave1Done.Round(100*time.Millisecond), r.killedAt.Round(100*time.Millisecond))
	if r.storeRestartAt > 0 {
		fmt.Fprintf(w, "; Redis restarted at %v, down %v", r.storeRestartAt.Round(100*time.Millisecond), r.storeDowntime.Round(time.Millisecond))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "requests served:                        %d\n", r.served.Load())
	fmt.Fprintf(w, "requests failed, instance down/store down/other (a disruption counts until 2 s after it ended): %d/%d/%d\n", r.failedInstance.Load(), r.failedStore.Load(), r.failedOther.Load())
	fmt.Fprintf(w, "refresh requests:                       %d for %d expiries (%.1f per session)\n", r.refreshes, r.expiries, float64(r.expiries)/float64(r.sessions))
	fmt.Fprintf(w, "refresh requests per session per expiry: %.3f (max %d)\n", r.perExpiry(), r.maxPerExpiry)
	fmt.Fprintf(w, "sessions lost:                          %d\n", r.lost)
	fmt.Fprintf(w, "grants revoked:                         %d\n", r.revoked)
	fmt.Fprintf(w, "protected request latency p50/p99:      %v / %v\n", r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond))
	for reason, n := range r.reasons {
		fmt.Fprintf(w, "  failed: %d × %s\n", n, reason)
	}
	for _, p := range r.problems {
		fmt.Fprintln(w, "problem:", p)
	}
}

// check returns an error wrapping errCheck when a soak criterion failed.
func (r *report) check() error {
	switch {
	case r.maxPerExpiry != 1:
		return fmt.Errorf("%w: %d refresh requests for one session's expiry", errCheck, r.maxPerExpiry)
	case r.expiries < 2*r.sessions:
		return fmt.Errorf("%w: %d expiries refreshed, want at least 2 per session", errCheck, r.expiries)
	case r.lost != 0:
		return fmt.Errorf("%w: %d sessions lost", errCheck, r.lost)
	case r.revoked != 0:
		return fmt.Errorf("%w: %d grants revoked", errCheck, r.revoked)
	case r.unauthorized.Load() != 0:
		return fmt.Errorf("%w: %d requests answered 401", errCheck, r.unauthorized.Load())
	case len(r.problems) != 0:
		return fmt.Errorf("%w: %s", errCheck, r.problems[0])
	}
	return nil
}

// printTable prints the reports side by side.
func printTable(w io.Writer, rs []*report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "store\tsessions\tserved\tfailed (instance/store/other)\trefreshes per session per expiry\tlost\trevoked\tp50\tp99")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d/%d/%d\t%.3f (max %d)\t%d\t%d\t%v\t%v\n", r.store, r.sessions, r.served.Load(),
			r.failedInstance.Load(), r.failedStore.Load(), r.failedOther.Load(), r.perExpiry(), r.maxPerExpiry,
			r.lost, r.revoked, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond))
	}
	_ = tw.Flush()
}
