// Command call_kinds measures how late a sleeping main goroutine wakes while another goroutine
// runs a loop of calls, by the kind of function the loop calls, with one P (run it with
// GOMAXPROCS=1).
//
// sysmon asks a goroutine that has run 10 ms on one time slice to stop (retake -> preemptone,
// src/runtime/proc.go:6681, 6917): it sets gp.stackguard0 = stackPreempt, which the stack-check
// prologue of the next function called sees (newstack, src/runtime/stack.go:1122), and, unless
// GODEBUG=asyncpreemptoff=1, sends a signal (preemptM). Not every function has a prologue: on
// amd64 a function that calls nothing and whose frame is below abi.StackSmall = 128 bytes is
// marked NOSPLIT and gets none (src/cmd/internal/obj/x86/obj6.go:663-691). So, with
// -kind
//   - leaf:   the loop calls leaf (no calls, no frame: NOSPLIT) and nothing else: without the
//     signal it cannot be preempted until it ends, as if it called nothing at all;
//   - frame:  the loop calls framed, whose 512-byte frame needs a prologue: the first call after
//     the request stops it;
//   - sparse: the loop calls leaf every iteration and framed once every -gap_ms of loop: the
//     request waits for the next framed call.
//
// Each repeat: main calls runtime.Gosched (a fresh time slice), starts the spinner and sleeps
// -sleep_ms. Its timer is on the one P, which runs the spinner: main wakes when the spinner is
// preempted (findRunnable runs the P's timers first) or its loop ends. late_ms is how long after
// its due time main ran; after_loop_ms is how long after the loop's end (negative: before).
// Medians and per-run values are printed as one JSON object on stdout.
package main

import (
	"flag"
	"fmt"
	"labkit.local/golab/measure"
	"os"
	"runtime"
	"strings"
	"time"
)

var sink uint64

// leaf calls nothing and has no frame: the compiler marks it NOSPLIT (no stack-check prologue).
//
//go:noinline
func leaf(x uint64) uint64 {
	return x*6364136223846793005 + 1442695040888963407
}

// framed has a 512-byte frame (its array lives on the stack), so it has a stack-check prologue.
//
//go:noinline
func framed(x uint64) uint64 {
	var buf [64]uint64
	for i := range buf {
		buf[i] = x + uint64(i)
	}
	return buf[x%64]*6364136223846793005 + 1442695040888963407
}

func leafLoop(n int) uint64 {
	x := uint64(1)
	for i := 0; i < n; i++ {
		x = leaf(x)
	}
	return x
}

func frameLoop(n int) uint64 {
	x := uint64(1)
	for i := 0; i < n; i++ {
		x = framed(x)
	}
	return x
}

// sparseLoop calls leaf every iteration and framed every every-th, the first after every.
func sparseLoop(n, every int) uint64 {
	x := uint64(1)
	c := every
	for i := 0; i < n; i++ {
		x = leaf(x)
		c--
		if c == 0 {
			c = every
			x = framed(x)
		}
	}
	return x
}

func main() {
	kind := flag.String("kind", "leaf", "leaf | frame | sparse: what the spinner's loop calls")
	loopMs := flag.Float64("loop_ms", 200, "target duration of the spinner's loop, ms")
	sleepMs := flag.Float64("sleep_ms", 1, "main's sleep, ms")
	gapMs := flag.Float64("gap_ms", 30, "sparse: loop time between calls of framed, ms")
	repeats := flag.Int("repeats", 15, "measurements; the medians are reported")
	flag.Parse()

	var loop func(int) uint64
	every := 0
	switch *kind {
	case "leaf":
		loop = leafLoop
	case "frame":
		loop = frameLoop
	case "sparse":
		nsLeaf := measure.NsPerIter(leafLoop)
		every = max(int(*gapMs*1e6/nsLeaf), 1)
		loop = func(n int) uint64 { return sparseLoop(n, every) }
	default:
		fmt.Fprintln(os.Stderr, "unknown -kind", *kind)
		os.Exit(2)
	}
	nsPerIter := measure.NsPerIter(loop)
	iters := int(*loopMs * 1e6 / nsPerIter)
	sleep := time.Duration(*sleepMs * 1e6)

	var late, afterLoop, loopLen []float64
	for range *repeats {
		done := make(chan struct{})
		var loopStart, loopEnd time.Time
		runtime.Gosched() // main starts a fresh time slice (see go/preempt)
		t0 := time.Now()
		go func() {
			loopStart = time.Now()
			sink += loop(iters)
			loopEnd = time.Now()
			close(done)
		}()
		time.Sleep(sleep)
		woke := time.Now()
		<-done
		late = append(late, measure.Ms(woke.Sub(t0.Add(sleep))))
		afterLoop = append(afterLoop, measure.Ms(woke.Sub(loopEnd)))
		loopLen = append(loopLen, measure.Ms(loopEnd.Sub(loopStart)))
	}
	out := map[string]any{
		"kind":               *kind,
		"late_ms":            measure.Median(late),
		"after_loop_ms":      measure.Median(afterLoop),
		"loop_ms":            measure.Median(loopLen),
		"late_ms_runs":       late,
		"after_loop_ms_runs": afterLoop,
		"loop_ms_runs":       loopLen,
		"ns_per_iter":        nsPerIter,
		"loop_iters":         iters,
		"framed_every":       every,
		"repeats":            *repeats,
		"async_preempt":      !strings.Contains(os.Getenv("GODEBUG"), "asyncpreemptoff=1"),
	}
	measure.Print(out)
}
