// Command spawn_order prints the order in which goroutines first run, with one P (run it with
// GOMAXPROCS=1).
//
// main starts -n goroutines and then blocks. runtime.newproc puts each new goroutine in the P's
// runnext slot (runqput(pp, newg, true) in src/runtime/proc.go), kicking the previous runnext to
// the tail of the local run queue. When main blocks, schedule -> findRunnable -> runqget takes
// runnext first, then the queue in FIFO order: the last goroutine runs first, then 1, 2, ...
// (for n = 5: 5 1 2 3 4).
//
// The run is repeated to show the order is deterministic; one JSON object on stdout.
package main

import (
	"flag"
	"labkit.local/golab/measure"
	"slices"
	"sync"
)

func once(n int) []int {
	order := make(chan int, n)
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 1; i <= n; i++ {
		go func() {
			order <- i
			wg.Done()
		}()
	}
	wg.Wait()
	close(order)
	var got []int
	for id := range order {
		got = append(got, id)
	}
	return got
}

func main() {
	n := flag.Int("n", 5, "goroutines to start")
	repeats := flag.Int("repeats", 5, "runs; all orders are reported")
	flag.Parse()

	var runs [][]int
	same := true
	for r := range *repeats {
		runs = append(runs, once(*n))
		if r > 0 && !slices.Equal(runs[r], runs[0]) {
			same = false
		}
	}
	out := map[string]any{
		"order":      runs[0],
		"order_runs": runs,
		"all_same":   same,
		"repeats":    *repeats,
	}
	measure.Print(out)
}
