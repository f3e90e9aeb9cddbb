// pingpong: two goroutines pass a value back and forth over unbuffered channels; each hand-off
// parks one (chan receive / chan send) and readies the other (runtime.send -> goready).
// Usage: pingpong TRACE [ROUNDS] (300 round trips by default; benchmarks/bench_trace.py asks
// for enough to write a 10 MB trace).
package main

import (
	"os"
	"strconv"

	"labkit.local/traceprograms/internal/tracing"
)

func pinger(out chan<- int, in <-chan int, n int) {
	for i := 0; i < n; i++ {
		out <- i
		<-in
	}
	close(out)
}

func ponger(in <-chan int, out chan<- int) {
	for v := range in {
		out <- v
	}
}

func main() {
	rounds := 300
	if len(os.Args) > 2 {
		n, err := strconv.Atoi(os.Args[2])
		if err != nil {
			panic(err)
		}
		rounds = n
	}
	tracing.Run(func() {
		ping, pong := make(chan int), make(chan int)
		done := make(chan struct{})
		go func() { ponger(ping, pong); close(done) }()
		pinger(ping, pong, rounds)
		<-done
	})
}
