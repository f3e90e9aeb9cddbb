// Command mutex_spin times one spin of a contended sync.Mutex: runtime_doSpin, which is
// procyield(active_spin_cnt = 30), thirty PAUSE instructions on amd64
// (internal_sync_runtime_doSpin, src/runtime/proc.go:8006; procyieldAsm, asm_amd64.s:832).
// lockSlow spins at most active_spin = 4 times before it parks on the semaphore
// (internal/sync/mutex.go:104, proc.go:7995), so this is how long a goroutine keeps trying for
// a mutex held on another P before it sleeps: the scheduler model's MUTEX_SPIN_MS. Its length
// is the CPU's, not Go's (a PAUSE takes about 10 cycles on older Intel cores, over 100 on newer
// ones).
//
// sync.runtime_doSpin is kept linkable for the packages that call it (sync_runtime_doSpin,
// proc.go:8038-8040), so a program can time it directly. -calls calls are timed, -repeats
// times, by the thread's own CPU clock (CLOCK_THREAD_CPUTIME_ID, the goroutine locked to its
// thread), which other processes on a busy machine do not stretch, and by the wall clock; the
// medians and per-run values (ns per call) are printed as one JSON object.
package main

import (
	"flag"
	"labkit.local/golab/measure"
	"runtime"
	"syscall"
	"time"
	"unsafe" // go:linkname, and the clock_gettime argument
)

//go:linkname doSpin sync.runtime_doSpin
func doSpin()

// threadCPU is this thread's CPU time (clock_gettime(CLOCK_THREAD_CPUTIME_ID), Linux).
func threadCPU() time.Duration {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

func main() {
	calls := flag.Int("calls", 200_000, "doSpin calls per measurement")
	repeats := flag.Int("repeats", 15, "measurements; the median is reported")
	flag.Parse()

	runtime.LockOSThread()
	for range 1000 { // warm up: the core at its working clock
		doSpin()
	}
	var cpuNs, wallNs []float64
	for range *repeats {
		c, t := threadCPU(), time.Now()
		for range *calls {
			doSpin()
		}
		wallNs = append(wallNs, float64(time.Since(t).Nanoseconds())/float64(*calls))
		cpuNs = append(cpuNs, float64((threadCPU()-c).Nanoseconds())/float64(*calls))
	}
	measure.Print(map[string]any{
		"spin_ns":           measure.Median(cpuNs),
		"spin_ns_runs":      cpuNs,
		"spin_wall_ns":      measure.Median(wallNs),
		"spin_wall_ns_runs": wallNs,
		"calls":             *calls,
		"repeats":           *repeats,
	})
}
