// Command pool is the real twin of chapter 4's pool model (labkit.models.pool, section 4.4): a server
// on GOMAXPROCS=2 receives requests at the times in arrivalUs and serves each with
// serviceUs of CPU. Both lists are the model's own seeded workload (labkit.golab.twins writes
// them into the vars below), so the model and this program serve the same requests.
//
// policy 0 is a static pool: `workers` goroutines ranging over one channel (FIFO; the
// channel is big enough that the dispatcher never blocks). policy 1 is a goroutine per
// request (`go handle(k)`, newproc in src/runtime/proc.go). Either way CPU work runs only on a
// goroutine holding one of the two Ps; the rest wait runnable in the run queues, and sysmon
// preempts a goroutine after 10 ms (retake, forcePreemptNS), so a request goroutine among
// many is served in slices.
//
// Latency is measured from each request's scheduled arrival, not from when the dispatcher got
// to it: a dispatcher held up by busy Ps must not hide its delay (coordinated omission,
// chapter 4.5). The dispatcher sleeps until each arrival (time.Sleep: a timer that fires when
// a P next passes through the scheduler). It prints, as JSON, every request's latency in
// arrival order, the makespan (first arrival to last completion) and the settings.
// labkit.golab.twins runs it with an execution trace (run_go) and sets `policy` and `workers`.
package main

import (
	"sync"
	"time"

	"labkit.local/golab/measure"
)

// policy: 0 a static pool of `workers`, 1 a goroutine per request.
var policy = 0

// workers is the static pool's size (ignored by policy 1).
var workers = 2

var sink uint64

// The workload, in microseconds: each request's arrival since the start and its CPU time.
// labkit.golab.twins writes the model's requests here; as committed the program serves none.
var arrivalUs = []int64{}
var serviceUs = []int64{}

// Steps of measure.Burn per microsecond of CPU, calibrated in init, before the trace starts.
var stepsPerUs float64

func init() {
	stepsPerUs = float64(measure.StepsFor(20*time.Millisecond)) / 20000
}

// handle serves request k: its CPU work in a loop without calls, then its latency.
func handle(k int, start time.Time, latency []float64, wg *sync.WaitGroup) {
	sink += measure.Burn(int(float64(serviceUs[k]) * stepsPerUs))
	latency[k] = measure.Ms(time.Since(start)) - float64(arrivalUs[k])/1000
	wg.Done()
}

// worker is one goroutine of the static pool.
func worker(tasks <-chan int, start time.Time, latency []float64, wg *sync.WaitGroup) {
	for k := range tasks {
		handle(k, start, latency, wg)
	}
}

func main() {
	n := len(arrivalUs)
	if n == 0 {
		return
	}
	latency := make([]float64, n)
	var wg sync.WaitGroup
	wg.Add(n)
	start := time.Now()
	tasks := make(chan int, n)
	if policy == 0 {
		for i := 0; i < workers; i++ {
			go worker(tasks, start, latency, &wg)
		}
	}
	for k := 0; k < n; k++ { // the dispatcher
		if d := time.Duration(arrivalUs[k])*time.Microsecond - time.Since(start); d > 0 {
			time.Sleep(d)
		}
		if policy == 0 {
			tasks <- k
		} else {
			go handle(k, start, latency, &wg)
		}
	}
	close(tasks)
	wg.Wait()
	measure.Print(map[string]any{
		"policy":      policy,
		"workers":     workers,
		"latency_ms":  latency,
		"makespan_ms": measure.Ms(time.Since(start)) - float64(arrivalUs[0])/1000,
	})
}
