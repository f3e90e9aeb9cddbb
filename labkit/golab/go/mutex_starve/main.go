// Command mutex_starve measures how long a goroutine waits for a sync.Mutex that another
// goroutine releases and takes again at once, in a loop, on two Ps (run it with GOMAXPROCS=2).
//
// The holder's loop is Lock, -hold_us of CPU, Unlock, and again. Unlocking in normal mode wakes
// one waiter (internal/sync/mutex.go unlockSlow -> runtime_Semrelease), which must then compete
// with the holder's next Lock, and the holder, already running, nearly always wins. A waiter
// that has waited more than starvationThresholdNs = 1 ms (mutex.go:55) switches the mutex to
// starvation mode (lockSlow, mutex.go:117-140); the holder's next Unlock then hands it straight
// to the waiter (runtime_Semrelease(handoff=true), mutex.go:232). So a waiter waits a little
// over 1 ms, where a mutex without starvation mode would let it wait as long as the holder
// loops.
//
// The waiter takes the mutex -locks times, computing -gap_us between them; wait_ms is the
// median of its waits and max_wait_ms the longest, per repeat. Medians and per-run values are
// printed as one JSON object on stdout.
package main

import (
	"flag"
	"labkit.local/golab/measure"
	"sync"
	"sync/atomic"
	"time"
)

var sink uint64

// one runs the holder and the waiter once and returns the waiter's waits, ms.
func one(hold, gap, locks int) []float64 {
	var mu sync.Mutex
	var stop atomic.Bool
	done := make(chan struct{})
	go func() { // the holder
		for !stop.Load() {
			mu.Lock()
			sink += measure.Burn(hold)
			mu.Unlock()
		}
		close(done)
	}()
	waits := make([]float64, 0, locks)
	sink += measure.Burn(gap)
	for range locks {
		t0 := time.Now()
		mu.Lock()
		waits = append(waits, measure.Ms(time.Since(t0)))
		mu.Unlock()
		sink += measure.Burn(gap)
	}
	stop.Store(true)
	<-done
	return waits
}

func main() {
	holdUs := flag.Float64("hold_us", 100, "the holder's CPU inside the lock, us")
	gapUs := flag.Float64("gap_us", 200, "the waiter's CPU between two locks, us")
	locks := flag.Int("locks", 50, "locks the waiter takes per measurement")
	repeats := flag.Int("repeats", 7, "measurements; the medians are reported")
	flag.Parse()

	hold := measure.StepsFor(time.Duration(*holdUs * 1e3))
	gap := measure.StepsFor(time.Duration(*gapUs * 1e3))
	var medians, maxima []float64
	for range *repeats {
		waits := one(hold, gap, *locks)
		medians = append(medians, measure.Median(waits))
		longest := 0.0
		for _, w := range waits {
			longest = max(longest, w)
		}
		maxima = append(maxima, longest)
	}
	measure.Print(map[string]any{
		"wait_ms":          measure.Median(medians),
		"wait_ms_runs":     medians,
		"max_wait_ms":      measure.Median(maxima),
		"max_wait_ms_runs": maxima,
		"locks":            *locks,
		"repeats":          *repeats,
	})
}
