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
//
// A sleep that a signal cuts short is no sample: nanosleep(2) returns EINTR as soon as a signal
// handler has run on the thread and is never restarted after one (signal(7)), and the Go
// runtime handles signals on every thread it runs. Such a sleep is timed again; "interrupted"
// counts them. (Before this program checked the error, such a sleep was recorded as a
// negative lateness; labkit.golab sets those aside when it reads a result.)
package main

import (
	"flag"
	"fmt"
	"labkit.local/golab/measure"
	"os"
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
	interrupted := 0
	for len(late) < *samples {
		ts := syscall.NsecToTimespec(d.Nanoseconds())
		t := time.Now()
		if err := syscall.Nanosleep(&ts, nil); err != nil {
			if err != syscall.EINTR || interrupted >= *samples {
				fmt.Fprintf(os.Stderr, "nanosleep: %v (%d sleeps interrupted)\n", err, interrupted)
				os.Exit(1)
			}
			interrupted++ // cut short by a signal: time it again
			continue
		}
		late = append(late, float64((time.Since(t)-d).Nanoseconds())/1e3)
	}
	measure.Print(map[string]any{
		"late_us":      measure.Median(late),
		"late_us_runs": late,
		"sleep_us":     *sleepUs,
		"samples":      *samples,
		"interrupted":  interrupted,
	})
}
