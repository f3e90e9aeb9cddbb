// timers: goroutines that sleep, wait on time.After and on a ticker, and one that selects
// between a timer and a channel; each wakes from a timer (src/runtime/time.go).
package main

import (
	"labkit.local/traceprograms/internal/tracing"
	"sync"
	"time"
)

func main() {
	tracing.Run(func() {
		var wg sync.WaitGroup
		wg.Add(4)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				time.Sleep(2 * time.Millisecond)
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				<-time.After(3 * time.Millisecond)
			}
		}()
		go func() {
			defer wg.Done()
			t := time.NewTicker(4 * time.Millisecond)
			defer t.Stop()
			for i := 0; i < 4; i++ {
				<-t.C
			}
		}()
		never := make(chan int)
		go func() {
			defer wg.Done()
			for i := 0; i < 3; i++ {
				select {
				case <-never:
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
		wg.Wait()
	})
}
