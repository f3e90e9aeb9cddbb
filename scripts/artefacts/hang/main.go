// Command hang parks goroutines in several states, prints "ready" and waits, so that a test
// driver can dump its goroutines with SIGQUIT (the runtime prints every goroutine and exits
// with status 2). With -panic it panics instead, after -spin goroutines are running on other
// threads (their stacks then print as "goroutine running on other thread; stack unavailable").
// With -deep a goroutine parks under a deep recursion, whose traceback the runtime elides
// ("...N frames elided...").
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

var spinning sync.WaitGroup

//go:noinline
func spin(stop *bool) {
	spinning.Done()
	for !*stop {
	}
}

//go:noinline
func recurse(n int, block chan struct{}) {
	if n == 0 {
		<-block
		return
	}
	recurse(n-1, block)
}

func main() {
	doPanic := flag.Bool("panic", false, "panic once the goroutines are parked")
	spinners := flag.Int("spin", 0, "goroutines spinning on other threads")
	deep := flag.Bool("deep", false, "park one goroutine under a 120-deep recursion")
	flag.Parse()

	block := make(chan struct{})
	go func() { <-block }()
	var mu sync.Mutex
	mu.Lock()
	go func() { mu.Lock() }()
	go func() {
		runtime.LockOSThread()
		select {
		case <-block:
		}
	}()
	go func() { time.Sleep(time.Hour) }()
	if *deep {
		go recurse(120, block)
	}
	stop := false
	spinning.Add(*spinners)
	for i := 0; i < *spinners; i++ {
		go spin(&stop)
	}
	spinning.Wait()
	time.Sleep(100 * time.Millisecond)
	if *doPanic {
		panic(fmt.Sprintf("hang: %d goroutines parked", runtime.NumGoroutine()))
	}
	fmt.Println("ready")
	os.Stdout.Sync()
	<-block
}
