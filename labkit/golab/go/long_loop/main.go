// Command long_loop is the real twin of chapter 2's blind spot 2.3 (labkit.scenarios.blindspots preset
// "2.3"): on GOMAXPROCS=1 one goroutine runs a 200 ms loop with no function call in it, while
// 40 requests arrive every 2 ms, each 1 ms of CPU. A loop without calls has no cooperative
// preemption point (the stack check in a function's prologue, src/runtime/stack.go newstack);
// only sysmon's signal can stop it (retake -> preemptone -> preemptM, asynchronous preemption
// since Go 1.14, src/runtime/preempt.go). With GODEBUG=asyncpreemptoff=1 (the stall: Go 1.13's
// behaviour) the requests wait for the whole loop; without it (the fix) the loop is preempted
// every ~10-20 ms and the requests run in between.
//
// It prints, as JSON, each request's latency (ms from its arrival to the end of its work) and
// how long the loop took. labkit.golab.twins runs it with an execution trace (run_go) and sets
// GODEBUG.
package main

import (
	"encoding/json"
	"os"
	"sync"
	"time"
)

var sink uint64

// burn is the loop: n steps of a linear congruential generator, no call inside (measure.Burn
// in ../measure; a run_go program cannot import the course's packages, so it has its own).
func burn(n int) uint64 {
	x := uint64(1)
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

// stepsPer returns how many burn steps take d on this machine (the best of five timings).
func stepsPer(d time.Duration) int {
	const n = 1 << 24
	best := time.Hour
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		sink += burn(n)
		if el := time.Since(t0); el < best {
			best = el
		}
	}
	return int(float64(n) * float64(d) / float64(best))
}

const requests, every, work, loop = 40, 2 * time.Millisecond, time.Millisecond, 200 * time.Millisecond

var loopSteps, workSteps int

// init calibrates the loops before main runs, so the calibration is not in the run's trace
// (run_go starts the trace as main starts).
func init() {
	loopSteps, workSteps = stepsPer(loop), stepsPer(work)
}

func main() {
	var wg sync.WaitGroup
	latency := make([]float64, requests)
	start := time.Now()
	var loopMs float64
	wg.Add(1)
	go func() { // the hog: one long loop, started after the first request is due
		defer wg.Done()
		time.Sleep(time.Millisecond)
		t0 := time.Now()
		sink += burn(loopSteps)
		loopMs = float64(time.Since(t0).Microseconds()) / 1000
	}()
	for k := 0; k < requests; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			arrive := start.Add(time.Duration(k) * every)
			time.Sleep(time.Until(arrive))
			sink += burn(workSteps)
			latency[k] = float64(time.Since(arrive).Microseconds()) / 1000
		}(k)
	}
	wg.Wait()
	json.NewEncoder(os.Stdout).Encode(map[string]any{"latency_ms": latency, "loop_ms": loopMs})
}
