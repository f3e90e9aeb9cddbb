// Command prodcons measures, on two Ps (run it with GOMAXPROCS=2), how a consumer that is faster
// than its producer takes a buffered channel: in cycles. It empties the buffer, parks in chanrecv
// (gopark, src/runtime/chan.go:667), and the producer's next send readies it into the producer's
// runnext (send -> goready -> ready(next=true), chan.go:318, proc.go:1133). The producer goes on
// running, so only another M can run the consumer: the one that ran it, still in findRunnable,
// sees the runnext and takes it on stealWork's last pass (proc.go:3850), after runqgrab's
// usleep(3) (proc.go:7746, "Sleep to ensure that pp isn't about to run the g we are about to
// steal"). That nanosleep is where the cycle goes: in an execution trace of this program
// (go1.27.3, 2 CPUs) the M had its P back 3-8 us after the park and ran the consumer 66-70 us
// later, the kernel's timer slack (50 us) and a thread's wake-up. Meanwhile the buffer fills.
//
// The producer (main) computes -work_us of CPU per item (a loop without calls) and sends it; the
// consumer receives in a select with a default, so it knows when the buffer was empty: then it
// notes the time and the items since its last park, and receives again, blocking. Per window of
// -items items: cycle_us, the median time from one park to the next, and cycle_items, the median
// items taken in between (both over the window's parks but its first). solo_item_ns is the
// producer's time per item with no consumer (sends into a buffer that holds them all), so
// cycle_items can be set against cycle_us. Medians of the windows and per-window values are
// printed as one JSON object on stdout. With -trace=<file> one more window runs under an
// execution trace (runtime/trace, not counted): labkit/golab/recorded/prodcons.trace.gz, which
// labkit.golab.predict_gaps.prodcons_trace_cycles reads.
package main

import (
	"flag"
	"labkit.local/golab/measure"
	"time"
)

var sink uint64

// window runs the producer and the consumer once; the consumer's cycle times (us) and items.
func window(items, buffer, steps int) (us, got []float64) {
	ch := make(chan int, buffer)
	done := make(chan struct{})
	us = make([]float64, 0, items) // made before the window: no allocation, no GC, inside it
	got = make([]float64, 0, items)
	go func() {
		parks, last, lastT := 0, 0, time.Time{}
		for k := 0; k < items; k++ {
			select {
			case v := <-ch:
				sink += uint64(v)
			default: // the buffer is empty: the next receive parks
				now := time.Now()
				if parks > 0 {
					us = append(us, float64(now.Sub(lastT).Nanoseconds())/1e3)
					got = append(got, float64(k-last))
				}
				parks, last, lastT = parks+1, k, now
				sink += uint64(<-ch)
			}
		}
		close(done)
	}()
	for k := 0; k < items; k++ {
		sink += measure.Burn(steps)
		ch <- k
	}
	<-done
	return us, got
}

func main() {
	items := flag.Int("items", 20_000, "items per window")
	buffer := flag.Int("buffer", 4096, "the channel's capacity")
	workUs := flag.Float64("work_us", 0.5, "the producer's CPU per item, us")
	repeats := flag.Int("repeats", 7, "windows; the medians are reported")
	traceFile := flag.String("trace", "", "write one more window's execution trace here")
	flag.Parse()

	steps := int(float64(measure.StepsFor(20*time.Millisecond)) / 20_000 * *workUs)
	solo := make(chan int, *items)
	t := time.Now()
	for k := 0; k < *items; k++ {
		sink += measure.Burn(steps)
		solo <- k
	}
	soloNs := float64(time.Since(t).Nanoseconds()) / float64(*items)

	var cycleUs, cycleItems, parks []float64
	for range *repeats {
		time.Sleep(5 * time.Millisecond) // each window starts with both Ps idle
		us, got := window(*items, *buffer, steps)
		if len(us) == 0 {
			us, got = []float64{0}, []float64{float64(*items)} // the consumer never caught up
		}
		cycleUs = append(cycleUs, measure.Median(us))
		cycleItems = append(cycleItems, measure.Median(got))
		parks = append(parks, float64(len(us)+1))
	}
	if *traceFile != "" { // one more window, traced, not in the figures above
		measure.Traced(*traceFile, func() {
			time.Sleep(5 * time.Millisecond)
			window(*items, *buffer, steps)
		})
	}
	measure.Print(map[string]any{
		"cycle_us":         measure.Median(cycleUs),
		"cycle_us_runs":    cycleUs,
		"cycle_items":      measure.Median(cycleItems),
		"cycle_items_runs": cycleItems,
		"parks_runs":       parks,
		"solo_item_ns":     soloNs,
		"work_us":          *workUs,
		"items":            *items,
		"repeats":          *repeats,
	})
}
