// Command preempt measures when the main goroutine gets the CPU back while another goroutine
// runs a tight loop without function calls, with one P (run it with GOMAXPROCS=1).
//
// main starts the spinner and calls runtime.Gosched, which puts main on the global run queue
// (runtime.goschedImpl in src/runtime/proc.go). The spinner then owns the only P:
//   - with asynchronous preemption (Go 1.14+), sysmon (runtime.retake) sees the same schedtick
//     for forcePreemptNS = 10 ms and calls preemptone, which sends SIGURG; the spinner stops at an
//     async-safe point and goes to the global queue, and main runs again after 10-20 ms;
//   - with GODEBUG=asyncpreemptoff=1 only cooperative preemption at function prologues is left,
//     and a loop without calls has none: main runs again only when the loop has ended.
//
// The measurement is repeated and the medians are printed as one JSON object on stdout.
package main

import (
	"flag"
	"labkit.local/golab/measure"
	"os"
	"runtime"
	"strings"
	"time"
)

var sink uint64

// spin runs n iterations of an LCG step: no calls, so no cooperative preemption point.
//
//go:noinline
func spin(n int) uint64 {
	x := uint64(1)
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

func main() {
	loopMs := flag.Float64("loop_ms", 600, "target duration of the spinner's loop, ms")
	repeats := flag.Int("repeats", 3, "measurements; the medians are reported")
	flag.Parse()

	iters := int(*loopMs * 1e6 / measure.NsPerIter(spin))
	var resume, loop []float64
	for range *repeats {
		done := make(chan struct{})
		var loopStart, loopEnd time.Time
		// A Gosched with nothing else runnable takes main off the global queue with
		// inheritTime=false, so schedtick advances: main (and the spinner, which inherits
		// main's slice from runnext) starts on a fresh time slice, not the leftover of the
		// previous round's spinner slice.
		runtime.Gosched()
		t0 := time.Now()
		go func() {
			loopStart = time.Now()
			sink += spin(iters)
			loopEnd = time.Now()
			close(done)
		}()
		runtime.Gosched() // main -> global run queue; the spinner (in runnext) runs
		back := time.Since(t0)
		<-done
		resume = append(resume, measure.Ms(back))
		loop = append(loop, measure.Ms(loopEnd.Sub(loopStart)))
	}
	out := map[string]any{
		"resume_ms":      measure.Median(resume),
		"loop_ms":        measure.Median(loop),
		"resume_ms_runs": resume,
		"loop_ms_runs":   loop,
		"loop_iters":     iters,
		"repeats":        *repeats,
		"async_preempt":  !strings.Contains(os.Getenv("GODEBUG"), "asyncpreemptoff=1"),
	}
	measure.Print(out)
}
