// Command oversubscribe measures what GOMAXPROCS above the number of CPUs costs: GOMAXPROCS
// goroutines of equal CPU work (loops without calls), each on a P of its own, against one of
// them alone, with the process confined to -cores CPUs.
//
// Go gives each P an M (an OS thread); whether the thread is on a CPU is the kernel's choice.
// With more busy threads than CPUs the kernel time-shares them (Linux's fair scheduler,
// kernel/sched/fair.c): n equal threads on c CPUs take n/c times as long as one alone. The
// program first confines every thread of the process to CPUs 0..cores-1 (sched_setaffinity on
// each task in /proc/self/task; threads made later inherit it), so the answer does not depend
// on how many CPUs the machine has.
//
// Each repeat: one goroutine alone (solo_ms), then GOMAXPROCS goroutines started together
// (makespan_ms, until the last is done). Medians and per-run values are printed as one JSON
// object on stdout.
package main

import (
	"flag"
	"fmt"
	"labkit.local/golab/measure"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

var sink uint64

// confine sets the CPU affinity of every thread of the process to CPUs 0..cores-1 and returns
// the distinct Cpus_allowed_list values its threads then have (one, if it worked).
func confine(cores int) ([]string, error) {
	var mask [16]uint64 // 1024 CPUs
	for cpu := 0; cpu < cores; cpu++ {
		mask[cpu/64] |= 1 << (cpu % 64)
	}
	for range 2 { // again, for a thread the runtime started meanwhile
		tasks, err := filepath.Glob("/proc/self/task/*")
		if err != nil {
			return nil, err
		}
		for _, task := range tasks {
			var tid int
			fmt.Sscan(filepath.Base(task), &tid)
			_, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, uintptr(tid),
				unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask)))
			if errno != 0 {
				return nil, errno
			}
		}
	}
	seen := map[string]bool{}
	var lists []string
	statuses, _ := filepath.Glob("/proc/self/task/*/status")
	for _, path := range statuses {
		data, _ := os.ReadFile(path)
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
				v = strings.TrimSpace(v)
				if !seen[v] {
					seen[v] = true
					lists = append(lists, v)
				}
			}
		}
	}
	return lists, nil
}

// together runs n goroutines of iters Burn steps each and returns the wall time until all are
// done, ms.
func together(n, iters int) float64 {
	var wg sync.WaitGroup
	sums := make([]uint64, n)
	t0 := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[i] = measure.Burn(iters)
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	for _, s := range sums {
		sink += s
	}
	return measure.Ms(d)
}

func main() {
	cores := flag.Int("cores", 2, "CPUs the process is confined to")
	workMs := flag.Float64("work_ms", 200, "CPU work of each goroutine, ms")
	repeats := flag.Int("repeats", 5, "measurements; the medians are reported")
	flag.Parse()
	if *cores > runtime.NumCPU() {
		fmt.Fprintf(os.Stderr, "-cores=%d but this machine has %d CPUs\n", *cores, runtime.NumCPU())
		os.Exit(2)
	}
	allowed, err := confine(*cores)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sched_setaffinity:", err)
		os.Exit(1)
	}
	n := runtime.GOMAXPROCS(0)
	iters := measure.StepsFor(time.Duration(*workMs * 1e6))
	var solo, span, ratio []float64
	for range *repeats {
		s := together(1, iters)
		m := together(n, iters)
		solo = append(solo, s)
		span = append(span, m)
		ratio = append(ratio, m/s)
	}
	measure.Print(map[string]any{
		"solo_ms":             measure.Median(solo),
		"makespan_ms":         measure.Median(span),
		"makespan_ratio":      measure.Median(ratio),
		"solo_ms_runs":        solo,
		"makespan_ms_runs":    span,
		"makespan_ratio_runs": ratio,
		"goroutines":          n,
		"cores":               *cores,
		"affinity_threads":    allowed,
		"iters":               iters,
		"repeats":             *repeats,
	})
}
