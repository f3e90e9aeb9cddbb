// Command run_queues is the real twin of chapter 2's blind spot 2.4 (labkit.scenarios.blindspots preset
// "2.4"): main starts 400 goroutines at once, each needing 1 ms of CPU, on GOMAXPROCS=1 (the
// stall) or GOMAXPROCS=4 (the fix). Each go statement puts the new goroutine in the creating
// P's runnext and pushes the one before to its local run queue (newproc -> runqput,
// src/runtime/proc.go); a full local queue (256 slots) sends half of it to the global queue
// (runqputslow). With more Ps, idle Ps steal half of a busy P's queue (findRunnable ->
// stealWork -> runqsteal). The Ps are logical: with GOMAXPROCS above the machine's CPUs the
// threads share the cores, which the model does not.
//
// It prints, as JSON, each goroutine's latency (ms from the burst to the end of its work), the
// makespan and GOMAXPROCS. labkit.golab.twins runs it with an execution trace (run_go).
package main

import (
	"runtime"
	"sync"
	"time"

	"labkit.local/golab/measure"
)

var sink uint64

// procs is the scenario's GOMAXPROCS: 1 (the stall) or 4 (the fix).
var procs = 1

const goroutines, work = 400, time.Millisecond

var workSteps int

// init sets GOMAXPROCS and calibrates the work before main runs, so neither is in the trace
// (run_go starts the trace as main starts).
func init() {
	runtime.GOMAXPROCS(procs)
	workSteps = measure.StepsFor(work)
}

// request is one goroutine of the burst.
func request(k int, start time.Time, latency []float64, wg *sync.WaitGroup) {
	defer wg.Done()
	sink += measure.Burn(workSteps)
	latency[k] = float64(time.Since(start).Microseconds()) / 1000
}

func main() {
	var wg sync.WaitGroup
	latency := make([]float64, goroutines)
	start := time.Now()
	wg.Add(goroutines)
	for k := 0; k < goroutines; k++ {
		go request(k, start, latency, &wg)
	}
	wg.Wait()
	measure.Print(map[string]any{
		"latency_ms":  latency,
		"makespan_ms": float64(time.Since(start).Microseconds()) / 1000,
	})
}
