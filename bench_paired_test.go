package logto_test

import (
	"testing"
	"time"
)

// Paired comparison (issue 10's ratios). On a shared machine two
// sub-benchmarks run one after the other can see different machines: one
// run of impl=logto and the next of impl=handwritten drifted by ±15% here,
// more than the margins being checked. The impl=paired sub-benchmarks
// therefore alternate the SDK and its yardstick within one benchmark, a
// small block or one round at a time, in turn first and second, and
// report each one's wall time per operation and their ratio: drift then
// falls on both alike. Read the ratio metric, over -count runs.

// pairedBlock is the wall time one side's block aims at: long enough for
// two clock readings not to matter, short enough to alternate often.
const pairedBlock = 200 * time.Microsecond

// pairedLoops alternates two loops, each running its operation n times,
// in blocks sized from a first timed call, and reports
// logto-ns/op, base-ns/op and ratio (logto over base).
func pairedLoops(b *testing.B, logto, base func(n int) error) {
	b.Helper()
	block := 1
	if per := timeLoop(b, logto, 1) + timeLoop(b, base, 1); per > 0 {
		block = max(1, int(2*pairedBlock/per))
	}
	var tl, tb time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			tl += timeLoop(b, logto, block)
			tb += timeLoop(b, base, block)
		} else {
			tb += timeLoop(b, base, block)
			tl += timeLoop(b, logto, block)
		}
	}
	b.StopTimer()
	reportPair(b, tl, tb, b.N*block)
}

// timeLoop is the wall time of loop(n); an error ends the benchmark.
func timeLoop(b *testing.B, loop func(n int) error, n int) time.Duration {
	start := time.Now()
	if err := loop(n); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// pairedSide is one side of a paired round benchmark: prepare runs
// untimed before each op.
type pairedSide struct {
	prepare func()
	op      func() error
}

// pairedRounds alternates the two sides one round each, in turn first,
// and reports as pairedLoops does. Each b.N iteration is one round of
// each side.
func pairedRounds(b *testing.B, logto, base pairedSide) {
	b.Helper()
	round := func(s pairedSide) time.Duration {
		s.prepare()
		start := time.Now()
		if err := s.op(); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	var tl, tb time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			tl += round(logto)
			tb += round(base)
		} else {
			tb += round(base)
			tl += round(logto)
		}
	}
	b.StopTimer()
	reportPair(b, tl, tb, b.N)
}

func reportPair(b *testing.B, tl, tb time.Duration, ops int) {
	b.Helper()
	if ops == 0 || tb <= 0 {
		return
	}
	b.ReportMetric(float64(tl.Nanoseconds())/float64(ops), "logto-ns/op")
	b.ReportMetric(float64(tb.Nanoseconds())/float64(ops), "base-ns/op")
	b.ReportMetric(float64(tl)/float64(tb), "ratio")
	// ns/op would be one iteration's, both sides' blocks together: a
	// figure of neither (so are B/op and allocs/op under -benchmem; the
	// impl=logto and impl=handwritten sub-benchmarks give each side's).
	b.ReportMetric(0, "ns/op")
}
