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
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"sort"
	"sync"
	"syscall"
	"time"
)

var sink uint64

//go:noinline
func burn(n int) uint64 {
	x := uint64(1)
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

// nsPerIter times burn on the main goroutine: a warm-up (so the core is at its working clock),
// then the best of five tries (the least disturbed by other processes).
func nsPerIter() float64 {
	const n = 1 << 22
	sink += burn(4 * n)
	best := time.Duration(1 << 62)
	for range 5 {
		t := time.Now()
		sink += burn(n)
		if d := time.Since(t); d < best {
			best = d
		}
	}
	return float64(best.Nanoseconds()) / n
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func main() {
	syscallMs := flag.Float64("syscall_ms", 100, "length of the blocking nanosleep syscall, ms")
	cpuMs := flag.Float64("cpu_ms", 20, "CPU work of the other goroutine, ms (calibrated)")
	repeats := flag.Int("repeats", 5, "measurements; the medians are reported")
	flag.Parse()

	iters := int(*cpuMs * 1e6 / nsPerIter())
	sleep := syscall.NsecToTimespec(int64(*syscallMs * 1e6))
	var cpuStart, cpuDone, sysStart, sysDone []float64
	for range *repeats {
		var wg sync.WaitGroup
		var cs, cd, ss, sd time.Duration
		wg.Add(2)
		t0 := time.Now()
		go func() { // queued first: runs when a P is free
			cs = time.Since(t0)
			sink += burn(iters)
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
		cpuStart = append(cpuStart, ms(cs))
		cpuDone = append(cpuDone, ms(cd))
		sysStart = append(sysStart, ms(ss))
		sysDone = append(sysDone, ms(sd))
	}
	out := map[string]any{
		"cpu_done_ms":          median(cpuDone),
		"syscall_done_ms":      median(sysDone),
		"cpu_start_ms":         median(cpuStart),
		"syscall_start_ms":     median(sysStart),
		"cpu_done_ms_runs":     cpuDone,
		"syscall_done_ms_runs": sysDone,
		"repeats":              *repeats,
		"go_version":           runtime.Version(),
		"goos":                 runtime.GOOS,
		"goarch":               runtime.GOARCH,
		"gomaxprocs":           runtime.GOMAXPROCS(0),
		"cpus":                 runtime.NumCPU(),
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
