// Command handoff_costs measures what a goroutine's hand-off and a channel operation cost, the
// costs the scheduler model calibrates from (labkit/golab/calibrate.py), as one JSON object.
//
// -case=rounds (run it with GOMAXPROCS=1): a round of two goroutine switches, made two ways,
// each timed -repeats times, alternately (so both see the same machine):
//   - gosched: main and another goroutine each call runtime.Gosched in a loop. goschedImpl puts
//     the caller on the global run queue (src/runtime/proc.go:4322, globrunqput at 4352) and
//     schedule() picks the other one: a round is main -> other -> main.
//   - chan: a ping-pong over two unbuffered channels. chansend finds the receiver waiting and
//     hands it the value (send, src/runtime/chan.go:318), goready -> ready(next=true) puts it in
//     runnext (ready, proc.go:1133); the sender then parks in the next receive (gopark, chanrecv,
//     chan.go:667). A round trip is again two switches, but each carries a channel operation, a
//     ready and a park.
//
// -case=buffered (run it with GOMAXPROCS=1): a round of two channel operations that never block,
// timed alternately with a Gosched round as above: one goroutine sends into a channel of capacity
// 1 and receives the value back. chansend finds no waiting receiver and room in the buffer
// (src/runtime/chan.go:236) and chanrecv a buffered value and no waiting sender (chan.go:612):
// each takes the channel's lock, copies the value and unlocks, and nobody is readied or parks.
//
// -case=shared (run it with GOMAXPROCS=2): what the same operations cost when two CPUs use one
// channel. A round of the buffered case, made two ways, alternately: one goroutine alone on its
// channel (solo; the other P idle), and two goroutines on the two Ps sharing one channel of
// capacity 2, each doing -rounds rounds of a send and a receive at once (shared: the time of
// both goroutines' rounds over -rounds, so a shared round is two rounds, one of each). Neither
// blocks: each sends before it receives, so the buffer holds one or two values when a receive
// comes and at most two when a send does. Every operation takes the channel's lock (lock(&c.lock),
// chan.go:222 and 586; lock2, lock_spinbit.go:164): with both at it, one spins while the other
// holds it (procyield, lock_spinbit.go:225), and the hchan's cache lines (the lock word, qcount,
// sendx, recvx, the buffer) move from one CPU to the other.
//
// -case=wake (run it with GOMAXPROCS=2): how long a goroutine readied on one P waits for the
// thread of the other, idle P to wake and run it. main sleeps -gap_ms, computes -lead_ms, notes
// the time and readies B, then C, by channel sends: ready() calls wakep (proc.go:1151; wakep at
// 3227), which hands the idle P to a parked thread (startm -> notewakeup -> futexwakeup), and
// C takes runnext, kicking B to the run queue, so the woken thread steals B from the queue
// (runqsteal) without runqgrab's usleep(3) for a running P's runnext. main spins meanwhile,
// keeping its own P, until B has stamped the time it ran (or 50 ms). The latency is B's stamp
// minus main's: the futex wake, the thread getting a CPU, and its way through findRunnable and
// stealWork.
//
// The lead matters: main's own timer readies it with a wakep too, and the thread that wakes
// for it finds nothing and parks again (stopm, proc.go:3007), unless the kernel queued it
// behind main's thread, which computes: then it is still on its way (sched.nmspinning != 0) when
// main readies B, wakep leaves B to it, and what is timed is that earlier wake-up's rest. With a
// 0.2 ms lead two thirds of the samples were such leftovers (~1.6 ms, the end of main's kernel
// slice); with 5 ms (the default) the earlier wake-up is over and each sample is one wake-up.
// -samples wake-ups are timed per measurement, -repeats measurements: quantiles of each, and of
// all pooled every percent and in the slowest percent every per mille, and how many ran on
// main's own thread (sysmon preempted main; none expected).
package main

import (
	"flag"
	"fmt"
	"labkit.local/golab/measure"
	"math"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func goschedRounds(rounds int) float64 {
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		for !stop.Load() {
			runtime.Gosched()
		}
		close(done)
	}()
	runtime.Gosched() // the other goroutine is in its loop before timing
	t := time.Now()
	for range rounds {
		runtime.Gosched()
	}
	d := time.Since(t)
	stop.Store(true)
	<-done
	return float64(d.Nanoseconds()) / float64(rounds)
}

func chanRounds(rounds int) float64 {
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
		close(pong)
	}()
	ping <- 0 // warm up: the echoer is parked in its receive before timing
	<-pong
	t := time.Now()
	for i := range rounds {
		ping <- i
		<-pong
	}
	d := time.Since(t)
	close(ping)
	<-pong
	return float64(d.Nanoseconds()) / float64(rounds)
}

func bufferedRounds(rounds int) float64 {
	c := make(chan int, 1)
	t := time.Now()
	for i := range rounds {
		c <- i
		<-c
	}
	d := time.Since(t)
	return float64(d.Nanoseconds()) / float64(rounds)
}

func sharedRounds(rounds int) float64 {
	c := make(chan int, 2)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range rounds {
				c <- i
				<-c
			}
		}()
	}
	runtime.Gosched() // both wait on start before timing
	t := time.Now()
	close(start)
	wg.Wait()
	d := time.Since(t)
	return float64(d.Nanoseconds()) / float64(rounds)
}

// alternated times a round of base and a round of other alternately (base, other: their keys'
// prefixes), repeats times, so both see the same machine: medians, and the per-run values and the
// ratios other / base.
func alternated(n, repeats int, base string, baseRounds func(int) float64, other string, otherRounds func(int) float64) map[string]any {
	var bases, others, ratios []float64
	for range repeats {
		b := baseRounds(n)
		o := otherRounds(n)
		bases = append(bases, b)
		others = append(others, o)
		ratios = append(ratios, o/b)
	}
	ratio := other + "_" + base + "_ratio"
	return map[string]any{
		base + "_round_ns":       measure.Median(bases),
		other + "_round_ns":      measure.Median(others),
		ratio:                    measure.Median(ratios),
		base + "_round_ns_runs":  bases,
		other + "_round_ns_runs": others,
		ratio + "_runs":          ratios,
		"rounds":                 n,
	}
}

// quantile of sorted xs at q in [0, 1], linear between the closest ranks (numpy's default).
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (pos-float64(lo))*(sorted[lo+1]-sorted[lo])
}

func spin(d time.Duration) {
	t := time.Now()
	for time.Since(t) < d {
	}
}

func wakes(samples, repeats int, gap, lead time.Duration) map[string]any {
	start := time.Now()
	var stamp, tid atomic.Int64
	chB, chC := make(chan struct{}), make(chan struct{})
	go func() {
		for range chB {
			tid.Store(int64(syscall.Gettid()))
			stamp.Store(int64(time.Since(start)))
		}
	}()
	go func() {
		for range chC {
		}
	}()
	levels := []float64{0.10, 0.50, 0.90, 0.99}
	names := []string{"p10", "p50", "p90", "p99"}
	perRun := map[string][]float64{}
	var all []float64
	sameThread := 0
	for range repeats {
		var us []float64
		for range samples {
			time.Sleep(gap)
			spin(lead)
			stamp.Store(0)
			me := int64(syscall.Gettid())
			t0 := int64(time.Since(start))
			chB <- struct{}{}
			chC <- struct{}{}
			for stamp.Load() == 0 && int64(time.Since(start))-t0 < int64(50*time.Millisecond) {
			}
			for stamp.Load() == 0 { // not run within 50 ms: wait for it, counted as it is
				time.Sleep(time.Millisecond)
			}
			if tid.Load() == me {
				sameThread++
			}
			us = append(us, float64(stamp.Load()-t0)/1e3)
		}
		all = append(all, us...)
		sort.Float64s(us)
		for i, q := range levels {
			perRun[names[i]] = append(perRun[names[i]], quantile(us, q))
		}
	}
	sort.Float64s(all)
	pooled := make([]float64, 101) // every percent, 0 (fastest) to 100 (slowest)
	for i := range pooled {
		pooled[i] = quantile(all, float64(i)/100)
	}
	tail := make([]float64, 11) // every per mille from 99 % to the slowest
	for i := range tail {
		tail[i] = quantile(all, 0.99+float64(i)/1000)
	}
	out := map[string]any{
		"wake_us_tail_permille": tail,
		"samples":               samples,
		"gap_ms":                measure.Ms(gap),
		"lead_ms":               measure.Ms(lead),
		"same_thread":           sameThread,
		"wake_us_percentiles":   pooled,
	}
	for _, n := range names {
		out["wake_us_"+n] = measure.Median(perRun[n])
		out["wake_us_"+n+"_runs"] = perRun[n]
	}
	return out
}

func main() {
	which := flag.String("case", "rounds", "rounds | buffered (GOMAXPROCS=1) | shared | wake (GOMAXPROCS=2)")
	n := flag.Int("rounds", 100_000, "rounds per measurement (case rounds)")
	samples := flag.Int("samples", 300, "wake-ups per measurement (case wake)")
	gapMs := flag.Float64("gap_ms", 2, "main's sleep before each wake-up, ms (case wake)")
	leadMs := flag.Float64("lead_ms", 5, "main's computing before each wake-up, ms (case wake)")
	repeats := flag.Int("repeats", 7, "measurements; the medians are reported")
	flag.Parse()
	var out map[string]any
	switch *which {
	case "rounds":
		out = alternated(*n, *repeats, "gosched", goschedRounds, "chan", chanRounds)
	case "buffered":
		out = alternated(*n, *repeats, "gosched", goschedRounds, "buffered", bufferedRounds)
	case "shared":
		if runtime.GOMAXPROCS(0) < 2 {
			fmt.Fprintln(os.Stderr, "case shared needs GOMAXPROCS >= 2")
			os.Exit(2)
		}
		out = alternated(*n, *repeats, "solo", bufferedRounds, "shared", sharedRounds)
	case "wake":
		if runtime.GOMAXPROCS(0) < 2 {
			fmt.Fprintln(os.Stderr, "case wake needs GOMAXPROCS >= 2")
			os.Exit(2)
		}
		out = wakes(*samples, *repeats, time.Duration(*gapMs*1e6), time.Duration(*leadMs*1e6))
	default:
		fmt.Fprintf(os.Stderr, "unknown -case %q\n", *which)
		os.Exit(2)
	}
	out["case"] = *which
	out["repeats"] = *repeats
	measure.Print(out)
}
