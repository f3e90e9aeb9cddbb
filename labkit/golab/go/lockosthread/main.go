// Command lockosthread checks two claims about runtime.LockOSThread (run it with GOMAXPROCS=2):
//
//  1. It does not change the thread's CPU affinity: the locked goroutine reads its thread's
//     affinity with sched_getaffinity(2) (pid 0 = the calling thread; a raw syscall, since the
//     standard library has no wrapper and golang.org/x/sys is not used here) and gets the same
//     CPU set as before. LockOSThread only sets m.lockedg / g.lockedm (runtime.dolockOSThread in
//     src/runtime/proc.go); nothing in it touches affinity.
//  2. It does not take a P away from the others: a locked goroutine that sleeps holds no P
//     (runtime.stoplockedm hands its P off while it waits), so -goroutines x -work_ms of CPU work
//     on GOMAXPROCS Ps finishes in about the same makespan with or without it.
//
// The two conditions are interleaved and repeated; medians are printed as one JSON object, with
// makespan_ratio the median of locked/unlocked over the pairs (each pair runs back to back, so
// other processes' load mostly cancels out).
package main

import (
	"flag"
	"fmt"
	"labkit.local/golab/measure"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

var sink uint64

// threadAffinity returns the calling thread's CPU set in the Cpus_allowed_list format ("0-1").
func threadAffinity() string {
	var mask [16]uint64 // 1024 CPUs
	n, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0,
		unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask)))
	if errno != 0 {
		return "error: " + errno.Error()
	}
	var cpus []int
	for cpu := 0; cpu < int(n)*8; cpu++ {
		if mask[cpu/64]&(1<<(cpu%64)) != 0 {
			cpus = append(cpus, cpu)
		}
	}
	var parts []string
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, fmt.Sprint(cpus[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", cpus[i], cpus[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// makespan runs goroutines x iters of burn and returns the wall time until all are done, with
// (locked=true) an extra goroutine locked to its thread that naps napMs at a time meanwhile.
func makespan(goroutines, iters int, locked bool, napMs float64) (float64, string) {
	stop := make(chan struct{})
	lockerDone := make(chan struct{})
	affinity := make(chan string, 1)
	if locked {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			affinity <- threadAffinity()
			for {
				select {
				case <-stop:
					close(lockerDone)
					return
				default:
					time.Sleep(time.Duration(napMs * 1e6))
				}
			}
		}()
	} else {
		affinity <- ""
		close(lockerDone)
	}
	aff := <-affinity // the locker is locked and about to nap
	var wg sync.WaitGroup
	wg.Add(goroutines)
	t0 := time.Now()
	for range goroutines {
		go func() {
			sink += measure.Burn(iters)
			wg.Done()
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	close(stop)
	<-lockerDone
	return float64(d.Nanoseconds()) / 1e6, aff
}

func main() {
	goroutines := flag.Int("goroutines", 40, "CPU-bound goroutines")
	workMs := flag.Float64("work_ms", 10, "CPU work per goroutine, ms (calibrated)")
	napMs := flag.Float64("nap_ms", 1, "the locked goroutine sleeps this long at a time, ms")
	repeats := flag.Int("repeats", 5, "measurements per condition; the medians are reported")
	flag.Parse()

	before := threadAffinity()
	cal := measure.NsPerIter(measure.Burn)
	iters := int(*workMs * 1e6 / cal)
	var unlocked, locked, ratio []float64
	affLocked := ""
	for range *repeats {
		u, _ := makespan(*goroutines, iters, false, *napMs)
		l, aff := makespan(*goroutines, iters, true, *napMs)
		unlocked = append(unlocked, u)
		locked = append(locked, l)
		ratio = append(ratio, l/u) // a pair run back to back sees about the same machine load
		affLocked = aff
	}
	out := map[string]any{
		"affinity_before":           before,
		"affinity_locked":           affLocked,
		"makespan_ms_unlocked":      measure.Median(unlocked),
		"makespan_ms_locked":        measure.Median(locked),
		"makespan_ratio":            measure.Median(ratio),
		"makespan_ms_unlocked_runs": unlocked,
		"makespan_ms_locked_runs":   locked,
		"goroutines":                *goroutines,
		"work_ms":                   *workMs,
		"repeats":                   *repeats,
		"ns_per_iter_calibrated":    cal,
	}
	measure.Print(out)
}
