// Command retake_keep measures how long a goroutine blocked in a system call keeps its P, from
// an execution trace (runtime/trace).
//
// sysmon's retake (src/runtime/proc.go) takes the P of a thread in a system call once it has
// seen the same syscalltick for a whole sysmon round, unless the P has nothing queued
// (runqempty), some other P is idle or an M is spinning (nmspinning + npidle > 0), and the call
// has lasted less than 10 ms: then the P is left with the blocked thread, so that the call can
// return to it without a hand-off. The three cases (-case):
//
//	idle    GOMAXPROCS=2: the other P is idle and nothing is queued: the P is kept ~10 ms;
//	busy    GOMAXPROCS=2: the other P runs a CPU loop (no idle P): taken at once;
//	queued  GOMAXPROCS=1: a goroutine waits in the P's run queue: taken at once.
//
// Each repeat starts the same way, so that sysmon is in the same state: main first blocks in a
// nanosleep of -pre_ms itself; sysmon takes its P, finds every P idle and sleeps deeply, and
// main's return from the call wakes it (exitsyscall -> notewakeup(&sched.sysmonnote)), which
// resets its sleep to 20 us. main comes back from its call on the time slice it had before it
// (exitsyscall does not advance schedtick), which sysmon saw more than forcePreemptNS ago: left
// so, sysmon would preempt main, and retake the blocker's P at once as soon as it saw it (a
// goroutine run from runnext inherits the slice; retake's sysretake, src/runtime/proc.go:6715).
// So main first calls runtime.Gosched (back from the global queue on a fresh slice), then starts
// the blocking goroutine and, behind it, a goroutine that returns at once; the latter takes
// runnext and the blocker waits in the run queue, so the blocker too starts a fresh slice
// (schedtick++). The blocker logs a trace message "enter" and blocks in nanosleep(2) for
// -block_ms.
//
// The trace (written to -trace) is read afterwards with `go tool trace -d=parsed`
// (labkit.golab.gotrace): the delay is from the goroutine's Running->Syscall transition to the
// P's Running->Idle transition made by another thread (the ProcSteal of retake: takeP in
// proc.go). One JSON object on stdout with the case and parameters; the delays come from the
// trace.
package main

import (
	"context"
	"flag"
	"fmt"
	"labkit.local/golab/measure"
	"os"
	"runtime"
	"runtime/trace"
	"sync/atomic"
	"syscall"
)

var sink uint64

func main() {
	which := flag.String("case", "idle", "idle | busy | queued")
	blockMs := flag.Float64("block_ms", 30, "length of the blocking nanosleep, ms")
	preMs := flag.Float64("pre_ms", 20, "main's own nanosleep before each repeat, ms")
	repeats := flag.Int("repeats", 7, "blocking calls traced")
	tracePath := flag.String("trace", "", "write the execution trace here (required)")
	flag.Parse()
	switch *which {
	case "idle", "busy", "queued":
	default:
		fmt.Fprintf(os.Stderr, "unknown -case %q\n", *which)
		os.Exit(2)
	}
	if *tracePath == "" {
		fmt.Fprintln(os.Stderr, "-trace is required")
		os.Exit(2)
	}
	f, err := os.Create(*tracePath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	busyIters := int(1.5 * *blockMs * 1e6 / measure.NsPerIter(measure.Burn))
	if err := trace.Start(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	block := syscall.NsecToTimespec(int64(*blockMs * 1e6))
	pre := syscall.NsecToTimespec(int64(*preMs * 1e6))
	for range *repeats {
		ts := pre
		for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
		}
		runtime.Gosched() // a fresh time slice for main (see above)
		done := make(chan struct{})
		var queuedRan atomic.Bool
		go func() { // the blocker: waits in the run queue, then starts a fresh time slice
			trace.Log(ctx, "retake_keep", "enter")
			ts := block
			for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
			}
			close(done)
		}()
		if *which == "queued" { // queued behind the blocker
			go func() { queuedRan.Store(true) }()
		}
		go func() {}() // takes runnext, so the blocker is taken from the run queue
		if *which == "busy" {
			// main keeps a P busy for longer than the call: no idle P, no spinning M.
			sink += measure.Burn(busyIters)
		}
		<-done
	}
	trace.Stop()
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	measure.Print(map[string]any{
		"case":     *which,
		"block_ms": *blockMs,
		"pre_ms":   *preMs,
		"repeats":  *repeats,
		"trace":    *tracePath,
	})
}
