// Command timer_stall is the real twin of chapter 2's blind spot 2.5 (labkit.scenarios.blindspots preset
// "2.5"): on GOMAXPROCS=2 a render loop sleeps 4 ms and draws for 0.5 ms, 30 frames, beside
// `hogs` goroutines that keep a CPU busy for 200 ms each. The render goroutine's timer sits in
// its P's heap and fires when that P passes through the scheduler ((*timers).check, called by
// findRunnable, src/runtime/proc.go:3430) or when a thread out of work steals it (stealWork,
// proc.go:3876). With two hogs no thread is out of work: the timer waits for a hog's
// preemption by sysmon (retake, forcePreemptNS = 10 ms). With one hog the other P is idle and
// its thread waits in netpoll for the timer: on time.
//
// It prints, as JSON, how late each frame's time.Sleep returned, in ms. labkit.golab.twins
// runs it with an execution trace (run_go) and sets `hogs`.
package main

import (
	"encoding/json"
	"os"
	"sync"
	"time"
)

var hogs = 2 // the stall; the fix runs one hog

var sink uint64

// spin keeps the CPU busy for d in a loop without function calls between its time checks,
// so only sysmon's preemption signal can take its P (asynchronous preemption, Go 1.14+).
func spin(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for i := 0; i < 1000; i++ {
			sink += uint64(i)
		}
	}
}

func main() {
	const frames, tick, draw = 30, 4 * time.Millisecond, 500 * time.Microsecond
	var wg sync.WaitGroup
	late := make([]float64, 0, frames)
	wg.Add(1)
	go func() { // the render loop
		defer wg.Done()
		for i := 0; i < frames; i++ {
			due := time.Now().Add(tick)
			time.Sleep(tick)
			late = append(late, float64(time.Since(due).Nanoseconds())/1e6)
			spin(draw)
		}
	}()
	for i := 0; i < hogs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spin(200 * time.Millisecond)
		}()
	}
	wg.Wait()
	json.NewEncoder(os.Stdout).Encode(map[string]any{"hogs": hogs, "late_ms": late})
}
