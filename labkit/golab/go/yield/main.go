// Command yield measures what a yield call in a hot loop costs and whether it lets another
// goroutine run, with one P (run it with GOMAXPROCS=1).
//
// A competing goroutine counts its turns: it adds one to a counter and calls runtime.Gosched,
// over and over. The main goroutine runs a loop of -iters iterations, each a little arithmetic
// (or, with -body_us > 0, that many microseconds of calibrated CPU work without calls), then:
//   - none:     no yield at all; the other goroutine runs only when sysmon preempts main
//     (runtime.retake: forcePreemptNS = 10 ms on one schedtick, src/runtime/proc.go);
//   - sleep0:   time.Sleep(0); runtime.timeSleep returns at once for ns <= 0 (src/runtime/time.go):
//     no park, no yield, so the other goroutine gets no turn;
//   - gosched:  runtime.Gosched; goschedImpl puts main on the global queue (src/runtime/proc.go),
//     the other goroutine runs once, yields back: one turn per iteration. Or 30 per 31, or
//     31 per 30: on every 61st schedtick findRunnable takes the global queue's head first
//     (proc.go:3458); if main is there then and the other waits on the P's own queue, main
//     runs twice in a row (or the other goroutine does, the other way round). Which of the
//     three a run gets is set by the tick and the queues when the loop starts;
//   - sleep1ns: time.Sleep(1ns); main parks with a timer that has expired by the time the P looks
//     for work: findRunnable runs the P's timers first, goroutineReady -> ready puts main in
//     runnext, and runnext is taken before the run queue, so main runs again at once and the
//     other goroutine does NOT run while main sleeps. main comes back through runnext with
//     inheritTime=true, so schedtick never advances and sysmon does ask to preempt it after
//     10 ms, but execute clears gp.preempt each time main is rescheduled: with a tiny body the
//     request is nearly always lost before it is honoured, and the other goroutine gets almost
//     no turns (fewer than with no yield at all). With a long body (-body_us=500) the request
//     arrives while main runs its body and the preemption happens as for the none mode.
//
// The loop is repeated; medians and per-run values are printed as one JSON object on stdout.
package main

import (
	"flag"
	"fmt"
	"labkit.local/golab/measure"
	"os"
	"runtime"
	"sync/atomic"
	"time"
)

var sink uint64

// loop runs iters iterations of a little arithmetic plus the chosen yield (one loop per mode,
// so that the yield is the only thing that differs between them).
func loop(mode string, iters int) {
	acc := uint64(0)
	switch mode {
	case "none":
		for i := 0; i < iters; i++ {
			acc = acc*31 + uint64(i)
		}
	case "sleep0":
		for i := 0; i < iters; i++ {
			acc = acc*31 + uint64(i)
			time.Sleep(0)
		}
	case "gosched":
		for i := 0; i < iters; i++ {
			acc = acc*31 + uint64(i)
			runtime.Gosched()
		}
	case "sleep1ns":
		for i := 0; i < iters; i++ {
			acc = acc*31 + uint64(i)
			time.Sleep(time.Nanosecond)
		}
	}
	sink += acc
}

// burnLoop is loop with a longer body: burn iterations of measure.Burn (a loop without calls).
func burnLoop(mode string, iters, burn int) {
	acc := uint64(0)
	for i := 0; i < iters; i++ {
		acc += measure.Burn(burn)
		switch mode {
		case "sleep0":
			time.Sleep(0)
		case "gosched":
			runtime.Gosched()
		case "sleep1ns":
			time.Sleep(time.Nanosecond)
		}
	}
	sink += acc
}

func main() {
	mode := flag.String("mode", "none", "none | sleep0 | gosched | sleep1ns")
	iters := flag.Int("iters", 100_000, "loop iterations")
	bodyUs := flag.Float64("body_us", 0, "CPU work per iteration, us (0: one multiply-add)")
	repeats := flag.Int("repeats", 7, "measurements; the medians are reported")
	flag.Parse()
	switch *mode {
	case "none", "sleep0", "gosched", "sleep1ns":
	default:
		fmt.Fprintf(os.Stderr, "unknown -mode %q\n", *mode)
		os.Exit(2)
	}
	burn := 0
	if *bodyUs > 0 {
		burn = max(1, int(*bodyUs*1e3/measure.NsPerIter(measure.Burn)))
	}

	var stop atomic.Bool
	var turns atomic.Int64
	otherDone := make(chan struct{})
	go func() {
		for !stop.Load() {
			turns.Add(1)
			runtime.Gosched()
		}
		close(otherDone)
	}()
	runtime.Gosched() // let the other goroutine start before the first measurement

	var nsPerIter, otherTurns, loopMs []float64
	for range *repeats {
		before := turns.Load()
		t := time.Now()
		if burn > 0 {
			burnLoop(*mode, *iters, burn)
		} else {
			loop(*mode, *iters)
		}
		d := time.Since(t)
		otherTurns = append(otherTurns, float64(turns.Load()-before))
		nsPerIter = append(nsPerIter, float64(d.Nanoseconds())/float64(*iters))
		loopMs = append(loopMs, measure.Ms(d))
	}
	stop.Store(true)
	<-otherDone

	out := map[string]any{
		"mode":             *mode,
		"ns_per_iter":      measure.Median(nsPerIter),
		"iters":            *iters,
		"other_turns":      measure.Median(otherTurns),
		"loop_ms":          measure.Median(loopMs),
		"ns_per_iter_runs": nsPerIter,
		"other_turns_runs": otherTurns,
		"loop_ms_runs":     loopMs,
		"body_us":          *bodyUs,
		"burn_iters":       burn,
		"repeats":          *repeats,
	}
	measure.Print(out)
}
