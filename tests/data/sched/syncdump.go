// Made tests/data/sched/sync-waits-debug2.txt with go1.27.3 linux/amd64 (go build, run, and
// GOROOT shown as /usr/local/go, where the model's dumps put it).

// Command syncdump parks one goroutine in each wait the scheduler model's primitives produce
// (sync.Mutex.Lock, sync.WaitGroup.Wait, select with cases, select {} and a time.Ticker's
// channel) and prints every goroutine's stack as /debug/pprof/goroutine?debug=2 serves it
// (runtime.Stack(buf, true)).
package main

import (
	"os"
	"runtime"
	"sync"
	"time"
)

var (
	mu   sync.Mutex
	wg   sync.WaitGroup
	a, b = make(chan int), make(chan int)
)

func lockWaiter()  { mu.Lock() }
func groupWaiter() { wg.Wait() }
func selector() {
	select {
	case <-a:
	case b <- 1:
	case <-time.After(time.Hour):
	}
}
func forever() { select {} }
func tickWaiter() {
	t := time.NewTicker(time.Hour)
	<-t.C
}

func main() {
	mu.Lock()
	wg.Add(1)
	go lockWaiter()
	go groupWaiter()
	go selector()
	go forever()
	go tickWaiter()
	time.Sleep(200 * time.Millisecond)
	buf := make([]byte, 1<<16)
	os.Stdout.Write(buf[:runtime.Stack(buf, true)])
}
