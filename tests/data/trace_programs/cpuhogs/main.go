// cpuhogs: four 30 ms CPU hogs and a 5 ms ticker, traced. Run with GOMAXPROCS=2: both Ps are
// busy with hogs, so the ticker's timer fires only when a P runs its timers, i.e. when a hog is
// preempted (sysmon's 10 ms time slice, src/runtime/proc.go sysmon -> retake -> preemptone) or
// finishes; the ticker's goroutine becomes runnable late (blind spot 2.5 in chapter 2).
package main

import (
	"labkit.local/traceprograms/internal/tracing"
	"sync"
	"time"
)

func hog(d time.Duration) int {
	start := time.Now()
	n := 0
	for time.Since(start) < d {
		n++
	}
	return n
}

func tick(every time.Duration, n int) {
	t := time.NewTicker(every)
	defer t.Stop()
	for i := 0; i < n; i++ {
		<-t.C
	}
}

func main() {
	tracing.Run(func() {
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); hog(30 * time.Millisecond) }()
		}
		wg.Add(1)
		go func() { defer wg.Done(); tick(5*time.Millisecond, 12) }()
		wg.Wait()
	})
}
