// Command gc_live measures how often the GC runs, and how fast it marks, when a program keeps a
// large live heap of small pointer nodes and allocates frames beside it (run it with
// GODEBUG=gctrace=1 for one line per cycle on stderr).
//
// The live heap is -live_mb MiB of 64-byte nodes, each allocated on its own and linked into a
// binary tree through pointer fields (measure.PointerTree: eight pointer words a node, so every
// word is scanned), held from a global: the mark phase must trace all of it every cycle
// (gcDrain in src/runtime/mgcmark.go; Green Tea's scanSpan for objects this small,
// src/runtime/mgcmark_greenteagc.go:844). Beside it the program allocates a -frame_mb MiB []byte per frame at
// -fps frames a second and writes one byte per page of it. The pacer (gcControllerState.heapGoal
// in src/runtime/mgcpacer.go) sets the goal near live * (1 + GOGC/100), so about
// live / (frame_mb * fps) seconds of frames pass between cycles, a little less because a cycle
// is triggered before the goal (the trigger lies between the last marked heap and the goal).
//
// After building the heap and a forced runtime.GC(), the program measures -repeats windows of
// -seconds each: GC cycles per second, and, from runtime/metrics, the CPU the mark phase used
// (/cpu/classes/gc/mark/{assist,dedicated,idle}:cpu-seconds) and the live heap marked by the
// cycles in the window (/gc/heap/live:bytes read after each cycle), so marked bytes per mark
// CPU-second. The cycle numbers of the window are printed so that gctrace lines can be matched.
// One JSON object on stdout.
package main

import (
	"flag"
	"labkit.local/golab/measure"
	"os"
	"runtime"
	"time"
)

var root any // the live heap (measure.PointerTree), reachable from a global
var sink uint64

// sample reads mark CPU (s) summed over assist, dedicated and idle, the cycle count and the live
// heap marked by the last cycle.
func sample() (markCPU float64, cycles uint64, live uint64) {
	markCPU, s := measure.MarkCPU("/gc/cycles/total:gc-cycles", "/gc/heap/live:bytes")
	return markCPU, s[0].Value.Uint64(), s[1].Value.Uint64()
}

func main() {
	liveMB := flag.Float64("live_mb", 72, "live heap of 64-byte pointer nodes, MiB")
	frameMB := flag.Float64("frame_mb", 3, "bytes allocated per frame, MiB")
	fps := flag.Float64("fps", 60, "frames per second")
	seconds := flag.Float64("seconds", 2, "length of one measured window, s")
	repeats := flag.Int("repeats", 5, "measured windows; medians are reported")
	flag.Parse()

	nodes := int(*liveMB * (1 << 20) / 64)
	root = measure.PointerTree(nodes)
	runtime.GC()
	frameBytes := int(*frameMB * (1 << 20))
	period := time.Duration(float64(time.Second) / *fps)

	var gcPerS, countPerS, markCPUs, markedMiB, bytesPerCPUs []float64
	var firstCycle, lastCycle []uint64
	var ms runtime.MemStats
	start := time.Now()
	frame := 0
	for range *repeats {
		cpu0, n0, _ := sample()
		t0 := time.Now()
		var marked float64
		seen := n0
		for time.Since(t0).Seconds() < *seconds {
			buf := make([]byte, frameBytes)
			for i := 0; i < len(buf); i += 4096 {
				buf[i] = byte(frame)
			}
			sink += uint64(buf[len(buf)/2])
			frame++
			if wait := time.Until(start.Add(time.Duration(frame) * period)); wait > 0 {
				time.Sleep(wait)
			}
			if _, n, live := sample(); n != seen { // a cycle ended: live is what it marked
				marked += float64(live) * float64(n-seen)
				seen = n
			}
		}
		window := time.Since(t0).Seconds()
		cpu1, n1, _ := sample()
		// The rate from the cycles' own end times (MemStats.PauseEnd, one entry per cycle,
		// written at mark termination): (k-1) intervals between the k cycles of the window.
		// A count over the window is kept too; it is coarse (+-1 cycle per window).
		runtime.ReadMemStats(&ms)
		if n1 >= n0+2 {
			first := ms.PauseEnd[(n0+1+255)%256]
			last := ms.PauseEnd[(n1+255)%256]
			gcPerS = append(gcPerS, float64(n1-n0-1)/(float64(last-first)/1e9))
		}
		countPerS = append(countPerS, float64(n1-n0)/window)
		markCPUs = append(markCPUs, cpu1-cpu0)
		markedMiB = append(markedMiB, marked/(1<<20))
		if cpu1 > cpu0 {
			bytesPerCPUs = append(bytesPerCPUs, marked/(cpu1-cpu0))
		}
		firstCycle = append(firstCycle, n0+1)
		lastCycle = append(lastCycle, n1)
	}
	if len(gcPerS) == 0 {
		gcPerS = countPerS // fewer than two cycles a window: only the count is left
	}
	_, _, live := sample()
	out := map[string]any{
		"gc_per_s":                    measure.Median(gcPerS),
		"mark_cpu_s":                  measure.Median(markCPUs),
		"marked_bytes_per_cpu_s":      measure.Median(bytesPerCPUs),
		"heap_live_mb":                float64(live) / (1 << 20),
		"gc_per_s_runs":               gcPerS,
		"mark_cpu_s_runs":             markCPUs,
		"marked_mb_runs":              markedMiB,
		"marked_bytes_per_cpu_s_runs": bytesPerCPUs,
		"first_cycle_runs":            firstCycle,
		"last_cycle_runs":             lastCycle,
		"nodes":                       nodes,
		"live_mb":                     *liveMB,
		"frame_mb":                    *frameMB,
		"fps":                         *fps,
		"seconds":                     *seconds,
		"repeats":                     *repeats,
		"gogc":                        os.Getenv("GOGC"),
	}
	measure.Print(out)
}
