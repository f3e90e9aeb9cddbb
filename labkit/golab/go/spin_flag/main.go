// Command spin_flag measures, with one P (run it with GOMAXPROCS=1), how long a goroutine that
// spins on an atomic flag (for !flag.Load() {}) keeps the goroutine that would set it from
// running.
//
// main starts the spinner and calls runtime.Gosched: the spinner runs (from runnext) and spins
// while main waits in the global queue. Atomic loads are not scheduling points, so only
// preemption stops the spinner: sysmon's retake asks it to stop after forcePreemptNS = 10 ms of
// one time slice (preemptone, src/runtime/proc.go), by SIGURG (asynchronous preemption,
// preemptM) and by poisoning the stack guard, which the next function prologue checks
// (newstack, src/runtime/stack.go). -calls=false spins on the load alone: only the signal
// stops it, and with GODEBUG=asyncpreemptoff=1 it would spin for ever (the program does not
// run that). -calls=true calls a function with a stack-check prologue each turn, so the
// spinner stops at its next call, signals or not. Either way main sets the flag 10-20 ms after
// the spinner started, depending on where sysmon's 10 ms rounds fall.
//
// set_ms: from starting the spinner until main set the flag, per repeat. Medians and per-run
// values are printed as one JSON object on stdout.
package main

import (
	"flag"
	"labkit.local/golab/measure"
	"runtime"
	"sync/atomic"
	"time"
)

var sink uint64

// framed has a 512-byte frame, so the compiler gives it a stack-check prologue (a leaf with a
// frame below abi.StackSmall would be NOSPLIT and have none).
//
//go:noinline
func framed(x uint64) uint64 {
	var buf [64]uint64
	buf[x%64] = x
	return buf[(x+1)%64] + x
}

func main() {
	calls := flag.Bool("calls", false, "the spin loop calls a function with a prologue")
	repeats := flag.Int("repeats", 7, "measurements; the medians are reported")
	flag.Parse()

	sink += measure.Burn(measure.StepsFor(50 * time.Millisecond)) // sysmon backs off
	var set []float64
	for range *repeats {
		var f atomic.Bool
		done := make(chan struct{})
		runtime.Gosched() // a fresh time slice, as in preempt
		t0 := time.Now()
		go func() {
			var x uint64
			for !f.Load() {
				if *calls {
					x = framed(x + 1)
				}
			}
			sink += x
			close(done)
		}()
		runtime.Gosched() // main -> global run queue; the spinner runs
		f.Store(true)
		set = append(set, measure.Ms(time.Since(t0)))
		<-done
	}
	measure.Print(map[string]any{
		"set_ms":      measure.Median(set),
		"set_ms_runs": set,
		"calls":       *calls,
		"repeats":     *repeats,
	})
}
