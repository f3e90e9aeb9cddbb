// Command pingpong_hog measures, with one P (run it with GOMAXPROCS=1), how a CPU-bound
// goroutine and a pair that ping-pongs on an unbuffered channel with no work per hop share the
// P: the hog's share of a window, and how long the pair runs between two runs of the hog.
//
// Each hop readies the partner into runnext (chansend -> goready -> ready(next=true),
// src/runtime/chan.go, proc.go), which runs it with inheritTime=true: execute does not advance
// the P's schedtick (src/runtime/proc.go execute), so sysmon's retake sees one long time slice
// and calls preemptone (proc.go retake, forcePreemptNS = 10 ms). Whether that request stops
// the pair depends on where it lands: execute clears gp.preempt of the goroutine it starts, so
// a request made to the goroutine that is about to park is lost; the SIGURG that preemptone
// also sends stops whichever goroutine the thread runs when it arrives (preemptM,
// asyncPreempt). The hog (measure.Burn chunks: no calls) is stopped only by that signal.
//
// The hog and the pinger read the clock as they run (the pinger once a round trip, the hog
// after each ~5 us chunk) and note when the P switched sides (switches). From those: the hog's
// share of each -window_ms window, and the stretches of the pair and of the hog that start and
// end inside it (the window starts 5 ms after the goroutines). With -trace=<file> one more window runs under an execution trace
// (runtime/trace, not counted), which the course draws beside the model's timeline. Medians and per-run
// values are printed as one JSON object on stdout.
package main

import (
	"flag"
	"labkit.local/golab/measure"
	"sync"
	"sync/atomic"
	"time"
)

var sink uint64

// switches logs which side (hog or pair) the P ran from when: each goroutine reads the clock
// as it runs and, when the side that ran before it was the other one, notes a switch. (A
// thread the kernel takes off its CPU is no switch: no other goroutine ran.)
type switches struct {
	owner atomic.Int32
	at    []int64
	to    []int32
}

func (s *switches) seen(side int32, t int64) {
	if s.owner.Load() != side {
		s.owner.Store(side)
		s.at = append(s.at, t)
		s.to = append(s.to, side)
	}
}

// window returns the time side ran inside [a, b), and the lengths of its stretches that begin
// and end inside it (from its switch-in to the other side's).
func (s *switches) window(side int32, a, b int64) (covered int64, inside []float64) {
	for i, t := range s.at {
		if s.to[i] != side {
			continue
		}
		stop := b
		if i+1 < len(s.at) {
			stop = s.at[i+1]
		}
		lo, hi := max(t, a), min(stop, b)
		if hi > lo {
			covered += hi - lo
		}
		if t > a && stop < b {
			inside = append(inside, float64(stop-t)/1e6)
		}
	}
	return covered, inside
}

// one runs the hog and the pair until end (ns after it starts) and returns the switches.
func one(chunk int, end int64) *switches {
	const hogSide, pairSide = 1, 2
	base := time.Now()
	now := func() int64 { return int64(time.Since(base)) }
	log := &switches{}
	var wg sync.WaitGroup
	ping, pong := make(chan int), make(chan int)
	wg.Add(3)
	go func() { // the hog
		defer wg.Done()
		for t := now(); t < end; t = now() {
			log.seen(hogSide, t)
			sink += measure.Burn(chunk)
		}
	}()
	go func() { // the echo
		defer wg.Done()
		for v := range ping {
			pong <- v
		}
	}()
	go func() { // the pinger
		defer wg.Done()
		for t := now(); t < end; t = now() {
			log.seen(pairSide, t)
			ping <- 1
			<-pong
		}
		close(ping)
	}()
	wg.Wait()
	return log
}

func main() {
	windowMs := flag.Float64("window_ms", 300, "length of one measured window, ms")
	repeats := flag.Int("repeats", 7, "measured windows; the medians are reported")
	traceFile := flag.String("trace", "", "write the last window's execution trace here")
	flag.Parse()

	chunk := measure.StepsFor(5 * time.Microsecond)
	span := int64(*windowMs * 1e6)
	// The window starts 5 ms after the goroutines, once the pair is ping-ponging.
	lead := 5 * int64(time.Millisecond)
	var shares, pairMedians, pairRuns, hogRuns []float64
	var pairCounts []int
	for range *repeats {
		log := one(chunk, lead+span+2*int64(time.Millisecond))
		covered, hogInside := log.window(1, lead, lead+span)
		_, inside := log.window(2, lead, lead+span)
		shares = append(shares, float64(covered)/float64(span))
		pairRuns = append(pairRuns, inside...)
		hogRuns = append(hogRuns, hogInside...)
		pairCounts = append(pairCounts, len(inside))
		if len(inside) > 0 {
			pairMedians = append(pairMedians, measure.Median(inside))
		}
	}
	if *traceFile != "" { // one more window, traced, not in the figures above
		measure.Traced(*traceFile, func() {
			one(chunk, span)
		})
	}
	measure.Print(map[string]any{
		"hog_share":            measure.Median(shares),
		"hog_share_runs":       shares,
		"pair_run_ms":          measure.Median(pairRuns),
		"pair_run_ms_runs":     pairRuns,
		"hog_run_ms":           measure.Median(hogRuns),
		"hog_run_ms_runs":      hogRuns,
		"pair_run_medians":     pairMedians,
		"pair_runs_per_window": pairCounts,
		"window_ms":            *windowMs,
		"chunk_iters":          chunk,
		"repeats":              *repeats,
	})
}
