// Command sleep_resolution measures how long time.Sleep(d) really takes in a program with
// nothing else to do, and how long a 20 us nanosleep(2) takes (what sysmon's usleep(20) costs).
//
// With every P idle the thread that would run the sleeper blocks in the network poller until the
// timer is due (findRunnable -> netpoll(delay), src/runtime/proc.go). On Linux the poller is
// epoll_pwait, whose timeout is in whole milliseconds (netpoll in src/runtime/netpoll_epoll.go:
// a delay under 1 ms waits 1 ms, a longer one is truncated to whole ms), so a Sleep(100us)
// takes about 1 ms and a Sleep(1.5ms) about 2 ms (one wait of 1 ms, then another of 1 ms for
// the 0.5 ms left). nanosleep(2) itself ends up to the thread's timer slack late (50 us by
// default on Linux, prctl(2) PR_SET_TIMERSLACK): sysmon sleeps with usleep, which on linux/amd64
// is a nanosleep (runtime.usleep in src/runtime/sys_linux_amd64.s).
//
// Run it with GOMAXPROCS=1. -sleep_us chooses d; each of -samples sleeps is timed and the
// median and quartiles are printed with the nanosleep(20us) figures, as one JSON object.
package main

import (
	"flag"
	"labkit.local/golab/measure"
	"runtime"
	"sort"
	"syscall"
	"time"
)

func quartiles(xs []float64) (q1, q3 float64) {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/4], s[(3*len(s))/4]
}

func main() {
	sleepUs := flag.Float64("sleep_us", 100, "time.Sleep duration, us")
	samples := flag.Int("samples", 200, "sleeps timed")
	flag.Parse()

	d := time.Duration(*sleepUs * 1e3)
	var sleeps, nanos []float64
	for range *samples {
		t := time.Now()
		time.Sleep(d)
		sleeps = append(sleeps, float64(time.Since(t).Nanoseconds())/1e6)
	}
	// nanosleep(20us) on a thread of its own, as sysmon's usleep(20) runs.
	runtime.LockOSThread()
	ts20 := syscall.NsecToTimespec(20_000)
	for range *samples {
		ts := ts20
		t := time.Now()
		syscall.Nanosleep(&ts, nil)
		nanos = append(nanos, float64(time.Since(t).Nanoseconds())/1e6)
	}
	runtime.UnlockOSThread()
	q1, q3 := quartiles(sleeps)
	n1, n3 := quartiles(nanos)
	measure.Print(map[string]any{
		"sleep_ms":            measure.Median(sleeps),
		"sleep_ms_q1":         q1,
		"sleep_ms_q3":         q3,
		"nanosleep20_ms":      measure.Median(nanos),
		"nanosleep20_ms_q1":   n1,
		"nanosleep20_ms_q3":   n3,
		"sleep_us":            *sleepUs,
		"samples":             *samples,
		"sleep_ms_runs":       sleeps,
		"nanosleep20_ms_runs": nanos,
	})
}
