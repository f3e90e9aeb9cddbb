// Command idle_wake measures how much later than asked a nanosleep(2) of d ends, on a thread
// locked to its goroutine (as sysmon's usleep runs) in a program with nothing else to do.
//
// The lateness has two parts: the thread's timer slack (50 us by default on Linux, prctl(2)
// PR_SET_TIMERSLACK), and the time from the timer's expiry to the thread running again. The
// second grows with d: a CPU idle for longer has gone into a deeper idle state (cpuidle; on a
// virtual machine the vCPU halts and the host must wake it), and leaving it takes longer. The
// runtime's own sleeps are such waits: sysmon's usleep(delay) (src/runtime/proc.go:6549, up to
// 10 ms) and the netpoller's epoll_pwait until the next timer (src/runtime/netpoll_epoll.go:118).
//
// Run it with GOMAXPROCS=1. -sleep_us chooses d; each of -samples sleeps is timed and the
// median lateness is printed with every sample, as one JSON object.
package main

import (
	"flag"
	"labkit.local/golab/measure"
	"runtime"
	"syscall"
	"time"
)

func main() {
	sleepUs := flag.Float64("sleep_us", 20, "nanosleep duration, us")
	samples := flag.Int("samples", 40, "sleeps timed")
	flag.Parse()

	d := time.Duration(*sleepUs * 1e3)
	runtime.LockOSThread()
	var late []float64
	for range *samples {
		ts := syscall.NsecToTimespec(d.Nanoseconds())
		t := time.Now()
		syscall.Nanosleep(&ts, nil)
		late = append(late, float64((time.Since(t)-d).Nanoseconds())/1e3)
	}
	measure.Print(map[string]any{
		"late_us":      measure.Median(late),
		"late_us_runs": late,
		"sleep_us":     *sleepUs,
		"samples":      *samples,
	})
}
