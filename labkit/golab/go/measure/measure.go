// Package measure holds what the course's experiment programs share: a CPU loop calibrated
// against the wall clock, medians of repeated runs, and the one JSON object each program prints
// (with the Go version, OS, architecture, GOMAXPROCS and CPU count that labkit.golab records),
// and an execution trace of one more run for the programs whose trace the course draws.
package measure

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/trace"
	"sort"
	"time"
)

var sink uint64

// Burn runs n iterations of an LCG step: a loop without calls, so only asynchronous preemption
// can stop it (there is no function prologue to check a preemption request).
//
//go:noinline
func Burn(n int) uint64 {
	x := uint64(1)
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

// NsPerIter times loop(n) on the calling goroutine: a warm-up (so the core is at its working
// clock), then the best of five tries (the least disturbed by other processes).
func NsPerIter(loop func(int) uint64) float64 {
	const n = 1 << 22
	sink += loop(4 * n)
	best := time.Duration(1 << 62)
	for range 5 {
		t := time.Now()
		sink += loop(n)
		if d := time.Since(t); d < best {
			best = d
		}
	}
	return float64(best.Nanoseconds()) / n
}

// StepsFor returns how many Burn steps take d of CPU on this machine (NsPerIter's calibration).
func StepsFor(d time.Duration) int {
	return int(float64(d.Nanoseconds()) / NsPerIter(Burn))
}

// Median of xs (the mean of the middle two for an even count); xs is not modified.
func Median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Ms converts a duration to float milliseconds.
func Ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// SleepUntil sleeps until due (not at all if it has passed) and returns when the caller woke
// and when its work due then begins: due, or prevEnd if the previous piece ended later (a
// frame loop's frame i is due at start + i/fps).
func SleepUntil(due, prevEnd time.Time) (woke, begin time.Time) {
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
	woke, begin = time.Now(), due
	if prevEnd.After(due) {
		begin = prevEnd
	}
	return woke, begin
}

// Print adds the run's environment to out and writes it to stdout as one JSON object; the
// program exits with status 1 if that fails.
func Print(out map[string]any) {
	out["go_version"] = runtime.Version()
	out["goos"] = runtime.GOOS
	out["goarch"] = runtime.GOARCH
	out["gomaxprocs"] = runtime.GOMAXPROCS(0)
	out["cpus"] = runtime.NumCPU()
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}

// treeNode is 64 bytes of pointers on amd64: left and right make the tree; the other six point
// back into it (to the parent), so the GC must scan every word. go1.27's Green Tea collector
// scans objects this small a span at a time (scanSpan -> scanObjectsSmall,
// src/runtime/mgcmark_greenteagc.go:844, 1015; gcUsesSpanInlineMarkBits: 16-512 bytes).
type treeNode struct {
	left, right *treeNode
	back        [6]*treeNode
}

// PointerTree allocates a binary tree of n 64-byte nodes, each on its own, breadth-first (node
// i's children are 2i+1 and 2i+2), and returns its root: a live heap of n*64 bytes that every
// GC cycle must trace word by word, as long as the caller keeps the root reachable.
func PointerTree(n int) any {
	level := []*treeNode{new(treeNode)}
	root := level[0]
	made := 1
	for made < n {
		var next []*treeNode
		for _, p := range level {
			for _, slot := range []**treeNode{&p.left, &p.right} {
				if made == n {
					break
				}
				c := &treeNode{}
				for i := range c.back {
					c.back[i] = p
				}
				*slot = c
				next = append(next, c)
				made++
			}
		}
		level = next
	}
	return root
}

// MarkCPUMetrics name the runtime's clocks of its GC mark workers and assists (runtime/metrics):
// their sum is the mark phase's CPU.
var MarkCPUMetrics = []string{
	"/cpu/classes/gc/mark/assist:cpu-seconds",
	"/cpu/classes/gc/mark/dedicated:cpu-seconds",
	"/cpu/classes/gc/mark/idle:cpu-seconds",
}

// ReadMetrics reads the named runtime/metrics samples, in the order given.
func ReadMetrics(names ...string) []metrics.Sample {
	s := make([]metrics.Sample, len(names))
	for i, n := range names {
		s[i].Name = n
	}
	metrics.Read(s)
	return s
}

// MarkCPU is the mark phase's CPU so far (s), assists and every kind of worker, and the
// samples of the further metrics named, in order.
func MarkCPU(more ...string) (cpuS float64, rest []metrics.Sample) {
	s := ReadMetrics(append(append([]string{}, MarkCPUMetrics...), more...)...)
	for _, x := range s[:len(MarkCPUMetrics)] {
		cpuS += x.Value.Float64()
	}
	return cpuS, s[len(MarkCPUMetrics):]
}

// Traced runs f under an execution trace (runtime/trace) written to path; the program exits
// with status 1 if the trace cannot be started.
func Traced(path string, f func()) {
	out, err := os.Create(path)
	if err == nil {
		err = trace.Start(out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	f()
	trace.Stop()
	out.Close()
}
