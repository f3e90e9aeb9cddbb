// A render loop that marks each frame as a runtime/trace region, beside two CPU hogs on
// GOMAXPROCS=2: frames that should take 4 ms take ~10-20 ms while both Ps run hogs (the
// render goroutine's timer fires only when its P passes through the scheduler). The stall
// doctor's test reads the regions as its windows.
package main

import (
	"context"
	"runtime/trace"
	"sync"
	"time"
)

var sink uint64

func spin(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for i := 0; i < 1000; i++ {
			sink += uint64(i)
		}
	}
}

func main() {
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			trace.WithRegion(ctx, "frame", func() {
				time.Sleep(4 * time.Millisecond)
				spin(500 * time.Microsecond)
			})
		}
	}()
	spin(30 * time.Millisecond) // frames alone first: the regions' usual length
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); spin(60 * time.Millisecond) }()
	}
	wg.Wait()
}
