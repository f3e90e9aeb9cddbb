// Command wg_order records, with one P (run it with GOMAXPROCS=1), in which order goroutines
// blocked in sync.WaitGroup.Wait run once the counter reaches zero.
//
// main starts -n goroutines that each call wg.Wait and sleeps, so that all of them park on the
// WaitGroup's semaphore in the order they ran (runtime_SemacquireWaitGroup, src/sync/
// waitgroup.go; the semaphore queue is FIFO, src/runtime/sema.go): the newest first, from
// runnext, then the others as spawned: n, 1, 2, ..., n-1. wg.Done brings the counter to zero,
// and Add releases the semaphore once per waiter (waitgroup.go: runtime_Semrelease in a loop),
// each release readying one waiter into main's P's runnext (semrelease1 -> readyWithTime ->
// goready -> ready(next=true), src/runtime/proc.go), which pushes the one readied before it to
// the tail of the local run queue (runqput). So the last to park runs first, then the others in
// the order they parked: n-1, n, 1, 2, ..., n-2 (with -n 5: 4, 5, 1, 2, 3).
//
// The experiment is repeated in fresh goroutines; the program prints the first order and
// whether every repeat gave the same one, as one JSON object on stdout.
package main

import (
	"flag"
	"labkit.local/golab/measure"
	"slices"
	"sync"
	"time"
)

func one(n int) []int {
	var wg, all sync.WaitGroup
	var order []int
	wg.Add(1)
	all.Add(n)
	for i := 1; i <= n; i++ {
		go func() {
			defer all.Done()
			wg.Wait()
			order = append(order, i) // one P: the goroutines run one at a time
		}()
	}
	time.Sleep(time.Millisecond) // every waiter runs and parks
	wg.Done()
	all.Wait()
	return order
}

func main() {
	n := flag.Int("n", 5, "goroutines waiting on the WaitGroup")
	repeats := flag.Int("repeats", 7, "runs; the program reports whether all orders agree")
	flag.Parse()

	first := one(*n)
	same := true
	for range *repeats - 1 {
		same = same && slices.Equal(one(*n), first)
	}
	measure.Print(map[string]any{"order": first, "all_same": same, "repeats": *repeats})
}
