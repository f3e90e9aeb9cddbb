// Command locked_pingpong times a channel ping-pong between two goroutines, with or without one
// of them locked to its OS thread (run it with GOMAXPROCS=1).
//
// Unlocked, a round trip is two goroutine switches on the one P: the sender readies the
// receiver into runnext (chansend -> goready -> ready(next=true), src/runtime/chan.go and
// proc.go) and parks, schedule picks the receiver, and back. Locked, the locked goroutine can
// run only on its own thread: when it is readied, schedule on the other thread finds it and
// hands its P over (startlockedm: a futex wake of the locked thread, then stopm), and when it
// blocks, its thread gives the P away again (stoplockedm -> handoffp -> startm, another wake).
// Each round trip is two thread hand-offs, so its cost is about two thread wake-ups: the figure
// labkit.models.scheduler's THREAD_WAKE_MS stands for.
//
// -rounds round trips are timed, -repeats times; medians and per-run values (us per round trip)
// are printed as one JSON object.
package main

import (
	"flag"
	"labkit.local/golab/measure"
	"runtime"
	"time"
)

func main() {
	locked := flag.Bool("locked", true, "lock the echoing goroutine to its thread")
	rounds := flag.Int("rounds", 2000, "round trips per measurement")
	repeats := flag.Int("repeats", 7, "measurements; the median is reported")
	flag.Parse()

	ping, pong := make(chan int), make(chan int)
	go func() {
		if *locked {
			runtime.LockOSThread()
		}
		for v := range ping {
			pong <- v
		}
		close(pong)
	}()
	ping <- 0 // warm up: the echoer runs (and, locked, is on its own thread) before timing
	<-pong
	var us []float64
	for range *repeats {
		t := time.Now()
		for i := range *rounds {
			ping <- i
			<-pong
		}
		us = append(us, float64(time.Since(t).Nanoseconds())/1e3/float64(*rounds))
	}
	close(ping)
	<-pong
	measure.Print(map[string]any{
		"round_trip_us":      measure.Median(us),
		"round_trip_us_runs": us,
		"locked":             *locked,
		"rounds":             *rounds,
		"repeats":            *repeats,
	})
}
