// pingpong: two goroutines pass a value back and forth over unbuffered channels; each hand-off
// parks one (chan receive / chan send) and readies the other (runtime.send -> goready).
package main

import (
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
	tracing.Run(func() {
		ping, pong := make(chan int), make(chan int)
		done := make(chan struct{})
		go func() { ponger(ping, pong); close(done) }()
		pinger(ping, pong, 300)
		<-done
	})
}
