// Command gc_parallel measures how fast one GC mark worker marks a live heap alone and how fast
// each of two marks it when they mark at once, in the same process, cycle by cycle (run it with
// GODEBUG=gctrace=1 for one line per cycle on stderr).
//
// The live heap is the one gc_live keeps: -live_mb MiB of 64-byte nodes linked into a binary
// tree, eight pointer words a node (measure.PointerTree). The program then forces -pairs pairs
// of GC cycles with runtime.GC(), one of each pair at GOMAXPROCS=1 and one at GOMAXPROCS=2 (which
// goes first alternates). While runtime.GC() waits, no goroutine is runnable, so every P runs a
// mark worker, the fractional one while it is under its goal and an idle one otherwise
// (findRunnableGCWorker; findRunnable -> gcController.addIdleMarkWorker, src/runtime/
// proc.go:3559; gcBgMarkWorker, src/runtime/mgc.go:1766, 1896): one worker marks at
// GOMAXPROCS=1 and two at once at GOMAXPROCS=2. For each cycle it reads, from runtime/metrics, the mark CPU
// (/cpu/classes/gc/mark/{assist,dedicated,idle}:cpu-seconds: the runtime's own clock of its
// workers) and the heap the cycle marked (/gc/heap/live:bytes), so the marked bytes per mark
// CPU-second, and the process's CPU time over the call (getrusage(2)), which says whether the
// workers' clock is CPU the threads really had.
//
// A pair's two cycles are a few tens of ms apart, so what the machine does meanwhile (another
// virtual machine on the same host, the CPU's clock) moves both alike: the pair's ratio (two
// workers' speed over one worker's) is steadier than either speed. One JSON object on stdout.
package main

import (
	"flag"
	"labkit.local/golab/measure"
	"runtime"
	"syscall"
	"time"
)

var root any // the live heap (measure.PointerTree), reachable from a global

// markCPU reads the mark CPU (s) summed over assist, dedicated and idle workers and the heap
// the last cycle marked.
func markCPU() (cpuS float64, live uint64) {
	cpuS, s := measure.MarkCPU("/gc/heap/live:bytes")
	return cpuS, s[0].Value.Uint64()
}

// processCPU is the CPU time (s) all of the process's threads have used, user and system.
func processCPU() float64 {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		panic(err)
	}
	return float64(r.Utime.Nano()+r.Stime.Nano()) / 1e9
}

// cycle forces one GC cycle at GOMAXPROCS=procs: its marked bytes per mark CPU-second, the
// mark CPU (s), the process's CPU over the call (s) and the call's wall time (s).
func cycle(procs int) (bytesPerCPUs, cpuS, processS, wallS float64) {
	runtime.GOMAXPROCS(procs)
	cpu0, _ := markCPU()
	p0 := processCPU()
	t := time.Now()
	runtime.GC()
	wallS = time.Since(t).Seconds()
	processS = processCPU() - p0
	cpu1, live := markCPU()
	cpuS = cpu1 - cpu0
	return float64(live) / cpuS, cpuS, processS, wallS
}

// series is one worker count's per-cycle figures.
type series struct{ speed, cpu, process, wall []float64 }

func (s *series) add(speed, cpu, process, wall float64) {
	s.speed = append(s.speed, speed)
	s.cpu = append(s.cpu, cpu)
	s.process = append(s.process, process)
	s.wall = append(s.wall, wall)
}

func main() {
	liveMB := flag.Float64("live_mb", 72, "live heap of 64-byte pointer nodes, MiB")
	pairs := flag.Int("pairs", 20, "pairs of cycles, one at GOMAXPROCS=1 and one at 2")
	flag.Parse()

	root = measure.PointerTree(int(*liveMB * (1 << 20) / 64))
	for range 2 { // settle the heap: the tree's build leaves garbage and unswept spans
		runtime.GC()
	}
	var one, two series
	var ratio []float64
	for i := range *pairs {
		order := []int{1, 2}
		if i%2 == 1 {
			order = []int{2, 1}
		}
		speed := map[int]float64{}
		for _, procs := range order {
			s, cpu, process, wall := cycle(procs)
			speed[procs] = s
			if procs == 1 {
				one.add(s, cpu, process, wall)
			} else {
				two.add(s, cpu, process, wall)
			}
		}
		ratio = append(ratio, speed[2]/speed[1])
	}
	_, live := markCPU()
	measure.Print(map[string]any{
		"one_worker_bytes_per_cpu_s":       measure.Median(one.speed),
		"two_workers_bytes_per_cpu_s":      measure.Median(two.speed),
		"two_over_one":                     measure.Median(ratio),
		"heap_live_mb":                     float64(live) / (1 << 20),
		"one_worker_bytes_per_cpu_s_runs":  one.speed,
		"two_workers_bytes_per_cpu_s_runs": two.speed,
		"two_over_one_runs":                ratio,
		"one_worker_mark_cpu_s_runs":       one.cpu,
		"two_workers_mark_cpu_s_runs":      two.cpu,
		"one_worker_process_cpu_s_runs":    one.process,
		"two_workers_process_cpu_s_runs":   two.process,
		"one_worker_wall_s_runs":           one.wall,
		"two_workers_wall_s_runs":          two.wall,
		"live_mb":                          *liveMB,
		"pairs":                            *pairs,
	})
}
