// Command locked_ticker is the real twin of chapter 2's blind spot 2.1 (labkit.scenarios.blindspots preset
// "2.1"): on GOMAXPROCS=2, 200 requests arrive every 0.5 ms, each 1 ms of CPU, beside a render
// loop that sleeps 2 ms and draws for 0.5 ms, 20 frames. With locked=1 (the stall the article
// fears) the render goroutine calls runtime.LockOSThread first: it then only ever runs on its own
// thread, and each time it sleeps that thread gives its P away (stoplockedm -> handoffp,
// src/runtime/proc.go) and each time it wakes the P is handed back to it (startlockedm). It does
// not take a P for itself nor change the CPU affinity. With locked=0 (the fix) it runs on any
// thread.
//
// It prints, as JSON, each request's latency (ms from its arrival to the end of its work), the
// makespan, the peak number of OS threads (the threadcreate profile's count: Go parks idle
// threads instead of ending them) and how late each frame's sleep returned.
// labkit.golab.twins runs it with an execution trace (run_go).
package main

import (
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"labkit.local/golab/measure"
)

var sink uint64

// locked is the scenario: 1, the render loop is locked to its thread (the stall); 0, not.
var locked = 1

const (
	requests, every, work  = 200, 500 * time.Microsecond, time.Millisecond
	frames, tick, drawTime = 20, 2 * time.Millisecond, 500 * time.Microsecond
)

var workSteps, drawSteps int

// init calibrates the work before main runs, so the calibration is not in the trace.
func init() {
	workSteps, drawSteps = measure.StepsFor(work), measure.StepsFor(drawTime)
}

// request is one request: it arrives, then computes.
func request(k int, arrive time.Time, latency []float64, wg *sync.WaitGroup) {
	defer wg.Done()
	time.Sleep(time.Until(arrive))
	sink += measure.Burn(workSteps)
	latency[k] = measure.Ms(time.Since(arrive))
}

// render is the render loop: sleep until the next tick, draw.
func render(late []float64, wg *sync.WaitGroup) {
	defer wg.Done()
	if locked == 1 {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	for f := 0; f < frames; f++ {
		due := time.Now().Add(tick)
		time.Sleep(tick)
		late[f] = measure.Ms(time.Since(due))
		sink += measure.Burn(drawSteps)
	}
}

func main() {
	var wg sync.WaitGroup
	latency, late := make([]float64, requests), make([]float64, frames)
	start := time.Now()
	wg.Add(requests + 1)
	go render(late, &wg)
	for k := 0; k < requests; k++ {
		go request(k, start.Add(time.Duration(k)*every), latency, &wg)
	}
	wg.Wait()
	measure.Print(map[string]any{
		"latency_ms":   latency,
		"late_ms":      late,
		"makespan_ms":  measure.Ms(time.Since(start)),
		"threads_peak": pprof.Lookup("threadcreate").Count(),
	})
}
