// gcheavy: a goroutine allocating short-lived 256 KiB buffers fast enough to run several GC
// cycles, each with a stop-the-world to start it and one to end marking (src/runtime/mgc.go
// gcStart, gcMarkDone), with mark assists (src/runtime/mgcmark.go gcAssistAlloc). It pauses
// now and then: the background sweeper yields after each batch of spans while no P is idle
// (src/runtime/proc.go goschedIfBusy), which with every P busy fills the trace with thousands
// of Gosched events (as does runtime.GC's full sweep); how many still varies from run to run.
package main

import (
	"sync"
	"time"

	"labkit.local/traceprograms/internal/tracing"
)

var sink []byte

func churn(n int) {
	live := make([][]byte, 8)
	for i := 0; i < n; i++ {
		live[i%len(live)] = make([]byte, 256<<10)
		if i%len(live) == 0 {
			// A pause leaves the Ps idle for a moment, in which the sweeper finishes
			// without yielding (goschedIfBusy returns at once while a P is idle).
			time.Sleep(300 * time.Microsecond)
		}
	}
	sink = live[0]
}

func main() {
	tracing.Run(func() {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			churn(100)
		}()
		wg.Wait()
	})
}
