// Command yield measures what a yield call in a hot loop costs and whether it lets another
// goroutine run, with one P (run it with GOMAXPROCS=1).
//
// A competing goroutine counts its turns: it adds one to a counter and calls runtime.Gosched,
// over and over. The main goroutine runs a loop of -iters iterations with one of:
//   - none:     no yield at all;
//   - sleep0:   time.Sleep(0); runtime.timeSleep returns at once for ns <= 0 (src/runtime/time.go):
//     no park, no yield, so the other goroutine gets no turn;
//   - gosched:  runtime.Gosched; goschedImpl puts main on the global queue (src/runtime/proc.go),
//     the other goroutine runs once, yields back: one turn per iteration;
//   - sleep1ns: time.Sleep(1ns); main parks on this P's timer heap, the other goroutine runs,
//     and when the timer fires goroutineReady -> goready puts main in runnext, ahead of it.
//
// The loop is repeated; medians are printed as one JSON object on stdout.
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

// loop runs iters iterations of a little arithmetic plus the chosen yield.
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

func main() {
	mode := flag.String("mode", "none", "none | sleep0 | gosched | sleep1ns")
	iters := flag.Int("iters", 100_000, "loop iterations")
	repeats := flag.Int("repeats", 7, "measurements; the medians are reported")
	flag.Parse()
	switch *mode {
	case "none", "sleep0", "gosched", "sleep1ns":
	default:
		fmt.Fprintf(os.Stderr, "unknown -mode %q\n", *mode)
		os.Exit(2)
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

	var nsPerIter, otherTurns []float64
	for range *repeats {
		before := turns.Load()
		t := time.Now()
		loop(*mode, *iters)
		d := time.Since(t)
		otherTurns = append(otherTurns, float64(turns.Load()-before))
		nsPerIter = append(nsPerIter, float64(d.Nanoseconds())/float64(*iters))
	}
	stop.Store(true)
	<-otherDone

	out := map[string]any{
		"mode":             *mode,
		"ns_per_iter":      measure.Median(nsPerIter),
		"iters":            *iters,
		"other_turns":      measure.Median(otherTurns),
		"ns_per_iter_runs": nsPerIter,
		"other_turns_runs": otherTurns,
		"repeats":          *repeats,
	}
	measure.Print(out)
}
