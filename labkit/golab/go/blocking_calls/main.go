// Command blocking_calls is the real twin of chapter 2's blind spot 2.2 (labkit.scenarios.blindspots preset
// "2.2"): on GOMAXPROCS=2, 120 requests arrive every 0.2 ms; each does 1 ms of CPU, and four in
// five then wait 20 ms, in a blocking system call (the stall: nanosleep, which keeps its thread,
// entersyscall in src/runtime/proc.go; sysmon's retake hands the P to another thread) or on a
// pipe that the netpoller watches (the fix: the goroutine parks in netpollblock and holds no
// thread). Which requests wait is every one but each fifth (the model draws them with its seed;
// the share is the same).
//
// It prints, as JSON, each request's latency (ms from its arrival to the end of its wait), the
// makespan and the peak number of OS threads (the threadcreate profile's count, which only
// grows: Go parks idle threads instead of ending them). labkit.golab.twins runs it with an
// execution trace (run_go).
package main

import (
	"os"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"labkit.local/golab/measure"
)

var sink uint64

// syscalls is the scenario: 1, the waits are blocking system calls (the stall); 0, they are
// waits on the netpoller (the fix).
var syscalls = 1

const requests, every, work, block = 120, 200 * time.Microsecond, time.Millisecond, 20 * time.Millisecond

var workSteps int

// init calibrates the work before main runs, so the calibration is not in the trace.
func init() {
	workSteps = measure.StepsFor(work)
}

// blockInKernel waits in a nanosleep system call: the thread stays in the kernel.
func blockInKernel() {
	ts := syscall.NsecToTimespec(int64(block))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}

// waitOnNetpoller reads a pipe that a timer writes to after the wait: Go's pipes are
// non-blocking and registered with the netpoller, so the read parks the goroutine, not a thread.
func waitOnNetpoller() {
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	defer r.Close()
	time.AfterFunc(block, func() { w.Write([]byte{1}); w.Close() })
	var b [1]byte
	if _, err := r.Read(b[:]); err != nil {
		panic(err)
	}
}

// request is one request: its work, then (four in five) its wait.
func request(k int, arrive time.Time, latency []float64, wg *sync.WaitGroup) {
	defer wg.Done()
	time.Sleep(time.Until(arrive))
	sink += measure.Burn(workSteps)
	if k%5 != 4 {
		if syscalls == 1 {
			blockInKernel()
		} else {
			waitOnNetpoller()
		}
	}
	latency[k] = float64(time.Since(arrive).Microseconds()) / 1000
}

func main() {
	var wg sync.WaitGroup
	latency := make([]float64, requests)
	start := time.Now()
	wg.Add(requests)
	for k := 0; k < requests; k++ {
		go request(k, start.Add(time.Duration(k)*every), latency, &wg)
	}
	wg.Wait()
	measure.Print(map[string]any{
		"latency_ms":   latency,
		"makespan_ms":  float64(time.Since(start).Microseconds()) / 1000,
		"threads_peak": pprof.Lookup("threadcreate").Count(),
	})
}
