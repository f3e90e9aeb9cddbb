// Command race has data races that the race detector reports (go run -race): two goroutines
// write one variable without synchronisation, and main reads another while a goroutine writes
// it (a report "by main goroutine").
package main

import (
	"fmt"
	"sync"
)

var counter, other int

//go:noinline
func bump(wg *sync.WaitGroup) {
	defer wg.Done()
	counter++
}

//go:noinline
func set(wg *sync.WaitGroup) {
	defer wg.Done()
	other = 1
}

func main() {
	var wg sync.WaitGroup
	wg.Add(3)
	go bump(&wg)
	go bump(&wg)
	go set(&wg)
	peek := other // races with set's write
	wg.Wait()
	fmt.Println(peek, counter)
}
