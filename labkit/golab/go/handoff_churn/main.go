// Command handoff_churn measures what a second P costs two goroutines that hand work to each
// other and never run at once. The producer (main) computes -work_us of CPU per item and sends
// it on an unbuffered channel; the consumer receives it and computes -work_us too. One of them
// always waits for the other, so on one P they take turns: the sender readies the receiver
// into its P's runnext (send -> goready -> ready(next=true), src/runtime/chan.go:318,
// proc.go:1133) and soon parks in its next send, and the P runs the receiver.
//
// With a second, idle P, each of those readies also calls wakep (proc.go:1151, 3227): the idle
// P's thread is woken (startm -> notewakeup) and looks for work (findRunnable, stealWork). What
// it finds is the other goroutine in the busy P's runnext, so it backs off usleep(3) (runqgrab,
// proc.go:7746) and then takes it only if the CAS finds the same goroutine there (proc.go:7756);
// if another is there it sleeps again, and if none, it gives up, drops its P, checks every
// queue once more (proc.go:3689-3714) and parks (stopm, proc.go:3007) until the next wakep.
//
// Per window of -items items: item_ns, the wall time per item, and cpu_item_ns, the process's
// CPU time per item (getrusage: the threads that look for work count too); medians over
// -repeats windows. With -trace=<file> one more window runs under an execution trace (not
// counted), which labkit.golab.gotrace.proc_runs reads: how often an idle P was started, how
// long a P was held without running a goroutine, how often a goroutine changed P.
package main

import (
	"context"
	"flag"
	"labkit.local/golab/measure"
	"runtime/trace"
	"syscall"
	"time"
)

var sink uint64

func cpuNs() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// window hands items from main to a new consumer; both compute steps per item.
func window(items, steps int) {
	ch := make(chan int)
	done := make(chan struct{})
	go func() {
		for v := range ch {
			sink += measure.Burn(steps) + uint64(v)
		}
		close(done)
	}()
	trace.Log(context.Background(), "handoff_churn", "start")
	for k := 0; k < items; k++ {
		sink += measure.Burn(steps)
		ch <- k
	}
	close(ch)
	<-done
	trace.Log(context.Background(), "handoff_churn", "end")
}

func main() {
	items := flag.Int("items", 20_000, "items per window")
	workUs := flag.Float64("work_us", 1.0, "each side's CPU per item, us")
	repeats := flag.Int("repeats", 7, "windows; the medians are reported")
	traceFile := flag.String("trace", "", "write one more window's execution trace here")
	flag.Parse()

	steps := int(float64(measure.StepsFor(20*time.Millisecond)) / 20_000 * *workUs)
	t := time.Now()
	for k := 0; k < *items; k++ {
		sink += measure.Burn(steps)
	}
	workNs := float64(time.Since(t).Nanoseconds()) / float64(*items)

	var itemNs, cpuItemNs []float64
	for range *repeats {
		time.Sleep(5 * time.Millisecond) // each window starts with the other Ps idle
		t, c := time.Now(), cpuNs()
		window(*items, steps)
		itemNs = append(itemNs, float64(time.Since(t).Nanoseconds())/float64(*items))
		cpuItemNs = append(cpuItemNs, float64(cpuNs()-c)/float64(*items))
	}
	if *traceFile != "" { // one more window, traced, not in the figures above
		measure.Traced(*traceFile, func() {
			time.Sleep(5 * time.Millisecond)
			window(*items, steps)
		})
	}
	measure.Print(map[string]any{
		"item_ns":          measure.Median(itemNs),
		"item_ns_runs":     itemNs,
		"cpu_item_ns":      measure.Median(cpuItemNs),
		"cpu_item_ns_runs": cpuItemNs,
		"work_ns":          workNs,
		"work_us":          *workUs,
		"items":            *items,
		"repeats":          *repeats,
	})
}
