// Command syscall_handoff shows that a goroutine blocked in a system call does not hold up
// other goroutines, with one P (run it with GOMAXPROCS=1).
//
// main starts a CPU goroutine (-cpu_ms of calibrated work) and then a syscall goroutine (a
// blocking nanosleep(2) of -syscall_ms), and waits. The syscall goroutine was started last, so
// newproc put it in runnext and it runs first (runtime.newproc -> runqput(pp, newg, true) in
// src/runtime/proc.go); it enters the syscall holding its M and the P (runtime.entersyscall).
// sysmon's retake takes the P once it has been in the syscall for more than one sysmon tick
// (20 us or more) because the P's run queue is not empty, and handoffp gives it to another M,
// which runs the CPU goroutine. So the CPU goroutine finishes after about -cpu_ms, long before
// the syscall returns; without the hand-off it would finish after syscall_ms + cpu_ms.
//
// The measurement is repeated; medians are printed as one JSON object on stdout.
package main

import (
	"flag"
	"labkit.local/golab/measure"
	"sync"
	"syscall"
	"time"
)

var sink uint64

func main() {
	syscallMs := flag.Float64("syscall_ms", 100, "length of the blocking nanosleep syscall, ms")
	cpuMs := flag.Float64("cpu_ms", 20, "CPU work of the other goroutine, ms (calibrated)")
	repeats := flag.Int("repeats", 5, "measurements; the medians are reported")
	flag.Parse()

	iters := int(*cpuMs * 1e6 / measure.NsPerIter(measure.Burn))
	sleep := syscall.NsecToTimespec(int64(*syscallMs * 1e6))
	var cpuStart, cpuDone, sysStart, sysDone []float64
	for range *repeats {
		var wg sync.WaitGroup
		var cs, cd, ss, sd time.Duration
		wg.Add(2)
		t0 := time.Now()
		go func() { // queued first: runs when a P is free
			cs = time.Since(t0)
			sink += measure.Burn(iters)
			cd = time.Since(t0)
			wg.Done()
		}()
		go func() { // in runnext: runs first and blocks in the kernel
			ss = time.Since(t0)
			ts := sleep
			for syscall.Nanosleep(&ts, &ts) == syscall.EINTR { // SIGURG etc.: sleep the rest
			}
			sd = time.Since(t0)
			wg.Done()
		}()
		wg.Wait()
		cpuStart = append(cpuStart, measure.Ms(cs))
		cpuDone = append(cpuDone, measure.Ms(cd))
		sysStart = append(sysStart, measure.Ms(ss))
		sysDone = append(sysDone, measure.Ms(sd))
	}
	out := map[string]any{
		"cpu_done_ms":           measure.Median(cpuDone),
		"syscall_done_ms":       measure.Median(sysDone),
		"cpu_start_ms":          measure.Median(cpuStart),
		"syscall_start_ms":      measure.Median(sysStart),
		"cpu_done_ms_runs":      cpuDone,
		"syscall_done_ms_runs":  sysDone,
		"cpu_start_ms_runs":     cpuStart,
		"syscall_start_ms_runs": sysStart,
		"repeats":               *repeats,
	}
	measure.Print(out)
}
