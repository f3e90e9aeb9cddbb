// Command pipeline is the real twin of chapter 4's pipeline (labkit.models.pipeline, section 4.1):
// a producer offers 200 draw commands as fast as the pipeline takes them; decode (1 worker,
// 1 ms of CPU) -> draw (`draw` workers, 4 ms) -> upload (1 worker, 0.5 ms of CPU, then 1 ms
// waiting for the device) -> the render loop, joined by channels of capacity `buffer`.
//
// A send on a full channel parks the sender on the channel's sendq (chansend,
// src/runtime/chan.go), so a slow stage holds back the stage before it and, in the end, the
// producer: back-pressure. All CPU work shares GOMAXPROCS=2 Ps (execute, proc.go). The device
// wait is a time.Sleep: the goroutine parks on a timer and holds no P (the model's wait is on
// the netpoller; both leave the P to others).
//
// It prints, as JSON, each item's latency in order (the k-th arrival at the render loop
// against the k-th offer, as labkit.models.pipeline measures it), how long each offer blocked, the
// makespan and the throughput. labkit.golab.twins runs it with an execution trace (run_go)
// and sets `buffer` and `draw`.
package main

import (
	"time"

	"labkit.local/golab/measure"
)

// buffer is every channel's capacity: 4 is the chapter's default, 64 its bufferbloat case.
var buffer = 4

// draw is the number of draw workers: 2 in the chapter; 1 makes draw the bottleneck.
var draw = 2

const items = 200

var sink uint64

// Steps of measure.Burn per ms of CPU, calibrated in init, before run_go's trace starts.
var stepsPerMs float64

func init() {
	stepsPerMs = float64(measure.StepsFor(20*time.Millisecond)) / 20
}

// compute burns ms of CPU in a loop without calls (asynchronously preemptible only).
func compute(ms float64) { sink += measure.Burn(int(ms * stepsPerMs)) }

// stage runs one worker: for each item, wait ioMs without a P, compute cpuMs, pass it on.
func stage(in <-chan int, out chan<- int, cpuMs float64, ioMs time.Duration) {
	for v := range in {
		if ioMs > 0 {
			time.Sleep(ioMs)
		}
		compute(cpuMs)
		out <- v
	}
}

// producer offers items in order, recording when each was offered and when its send completed.
func producer(in chan<- int, start time.Time, offer, blocked []float64) {
	for k := 0; k < items; k++ {
		t := time.Now()
		offer[k] = measure.Ms(t.Sub(start))
		in <- k
		blocked[k] = measure.Ms(time.Since(t))
	}
	close(in)
}

// The three stages' workers, each a function of its own so that a trace names them. done
// counts the workers of a stage that have returned; the last one closes the next channel.
func decode(in <-chan int, out chan<- int, done chan<- struct{}) {
	stage(in, out, 1, 0)
	done <- struct{}{}
}

func drawer(in <-chan int, out chan<- int, done chan<- struct{}) {
	stage(in, out, 4, 0)
	done <- struct{}{}
}

func upload(in <-chan int, out chan<- int, done chan<- struct{}) {
	stage(in, out, 0.5, time.Millisecond)
	done <- struct{}{}
}

// closeAfter closes out once n workers have returned (each signals on done).
func closeAfter(n int, done <-chan struct{}, out chan int) {
	for i := 0; i < n; i++ {
		<-done
	}
	close(out)
}

func main() {
	chans := make([]chan int, 4)
	for i := range chans {
		chans[i] = make(chan int, buffer)
	}
	start := time.Now()
	offer, blocked := make([]float64, items), make([]float64, items)
	go producer(chans[0], start, offer, blocked)
	var done [3]chan struct{}
	for i := range done {
		done[i] = make(chan struct{})
	}
	go decode(chans[0], chans[1], done[0])
	for i := 0; i < draw; i++ {
		go drawer(chans[1], chans[2], done[1])
	}
	go upload(chans[2], chans[3], done[2])
	go closeAfter(1, done[0], chans[1])
	go closeAfter(draw, done[1], chans[2])
	go closeAfter(1, done[2], chans[3])
	// The render loop: the k-th item to arrive against the k-th offered.
	latency := make([]float64, 0, items)
	var first, last float64
	for range chans[3] {
		now := measure.Ms(time.Since(start))
		if len(latency) == 0 {
			first = now
		}
		last = now
		latency = append(latency, now-offer[len(latency)])
	}
	measure.Print(map[string]any{
		"buffer":           buffer,
		"draw":             draw,
		"latency_ms":       latency,
		"producer_blocked": blocked,
		"makespan_ms":      last - offer[0],
		"throughput_per_s": float64(items-1) * 1000 / (last - first),
	})
}
