// Command stallcorpus is the stall doctor's labelled corpus (labkit.stalls, tests/test_stalls.py):
// a render loop marks each frame as a runtime/trace region ("frame": sleep 4 ms, draw 0.5 ms),
// beside background work that stalls it by one known mechanism, chosen by `cause` (a bit set,
// so two causes mix). scripts/record_stall_corpus.py runs it at several GOMAXPROCS and sizes.
//
//	0 nothing: the render loop and one light worker (a healthy control)
//	1 hogs: two goroutines spin without calls between their clock checks (only sysmon's
//	  preemption takes their P: retake, src/runtime/proc.go); the render loop's timer waits
//	  for its P
//	2 burst: every 20 ms, 100 goroutines of 0.4 ms each are started (newproc -> runqput),
//	  and the frame calls runtime.Gosched after its sleep (the article's advice), which puts
//	  it on the global run queue (goschedImpl -> globrunqput, proc.go), behind them
//	4 lock: the frame reads a cache under RWMutex.RLock; a refresher holds the write lock for
//	  25 ms every 60 ms (semacquire, src/runtime/sema.go)
//	8 gc: two producers allocate 1 MiB in 64 KiB buffers every millisecond beside 32 MiB of
//	  live pointers: the GC's mark workers take a quarter of the Ps (gcBgMarkWorker, mgc.go)
//	  and the frame's own allocation is charged mark assists (gcAssistAlloc, mgcmark.go)
//	16 syscall: every 20 ms, one goroutine per P enters a blocking 8 ms nanosleep; a P in a
//	  system call is taken back only by sysmon's retake (proc.go), which sleeps up to 10 ms
//	  between rounds when the program was idle
//	32 channel: each frame waits for its data on a channel a slow producer fills every 12 ms
//	64 network: the frame is paced by a pipe a child process (sh) writes a byte to every 4 ms,
//	  instead of a sleep: the read parks on the network poller (os.Pipe is non-blocking:
//	  netpollblock, src/runtime/netpoll.go), which a P polls only when it looks for work
//	  (findRunnable) and sysmon every 10 ms at most (sysmon -> netpoll, proc.go); with 64|1
//	  the hogs keep every P from looking
//
// It prints, as JSON, each frame's duration in ms.
package main

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"runtime/trace"
	"sync"
	"syscall"
	"time"

	"labkit.local/golab/measure"
)

var cause = 1

var frames = 30

var sink uint64

func spin(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for i := 0; i < 1000; i++ {
			sink += uint64(i)
		}
	}
}

type cache struct {
	sync.RWMutex
	data [64]int
}

var live any

// init builds the live heap before run_go's trace starts (with main), so that the trace holds
// the frames' GC cycles, not the build's.
func init() {
	if cause&8 != 0 {
		live = measure.PointerTree(1 << 19) // 32 MiB of 64-byte pointer nodes
	}
}

func main() {
	ctx := context.Background()
	stop := make(chan struct{})
	var bg sync.WaitGroup
	start := func(f func()) {
		bg.Add(1)
		go func() { defer bg.Done(); f() }()
	}
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	var c cache
	data := make(chan int, 1)
	if cause == 0 {
		start(func() {
			for !stopped() {
				spin(200 * time.Microsecond)
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	if cause&1 != 0 {
		for i := 0; i < 2; i++ {
			start(func() {
				for !stopped() {
					spin(50 * time.Millisecond)
				}
			})
		}
	}
	if cause&2 != 0 {
		start(func() {
			for !stopped() {
				var wg sync.WaitGroup
				for i := 0; i < 100; i++ {
					wg.Add(1)
					go func() { defer wg.Done(); spin(400 * time.Microsecond) }()
				}
				wg.Wait()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	if cause&4 != 0 {
		start(func() {
			for !stopped() {
				time.Sleep(35 * time.Millisecond)
				c.Lock()
				spin(25 * time.Millisecond)
				c.Unlock()
			}
		})
	}
	if cause&8 != 0 {
		for i := 0; i < 2; i++ {
			start(func() {
				var keep [][]byte
				for !stopped() {
					for j := 0; j < 16; j++ {
						keep = append(keep, make([]byte, 64<<10))
					}
					keep = keep[:0]
					time.Sleep(time.Millisecond)
				}
			})
		}
	}
	if cause&16 != 0 {
		for i := 0; i < runtime.GOMAXPROCS(0); i++ {
			start(func() {
				ts := syscall.Timespec{Nsec: 8_000_000}
				for !stopped() {
					time.Sleep(20 * time.Millisecond)
					syscall.Nanosleep(&ts, nil)
				}
			})
		}
	}
	if cause&32 != 0 {
		start(func() {
			for k := 0; !stopped(); k++ {
				time.Sleep(12 * time.Millisecond)
				select {
				case data <- k:
				case <-stop:
				}
			}
		})
	}
	var pipe *os.File
	if cause&64 != 0 {
		r, w, err := os.Pipe()
		if err != nil {
			panic(err)
		}
		cmd := exec.Command("sh", "-c", "while :; do printf x; sleep 0.004; done")
		cmd.Stdout = w
		if err := cmd.Start(); err != nil {
			panic(err)
		}
		defer cmd.Process.Kill()
		w.Close()
		pipe = r
		one := make([]byte, 64)
		pipe.Read(one) // the first byte: the child is running
	}
	took := make([]float64, 0, frames)
	var frame []byte
	buf := make([]byte, 64)
	for i := 0; i < frames; i++ {
		t := time.Now()
		trace.WithRegion(ctx, "frame", func() {
			if pipe != nil {
				pipe.Read(buf) // the next byte, due 4 ms after the last
			} else {
				time.Sleep(4 * time.Millisecond)
			}
			if cause&2 != 0 {
				runtime.Gosched()
			}
			if cause&32 != 0 {
				<-data
			}
			if cause&4 != 0 {
				c.RLock()
				sink += uint64(c.data[i%64])
				c.RUnlock()
			}
			if cause&8 != 0 {
				frame = make([]byte, 256<<10) // the frame's own buffer: charged assists
				frame[0] = byte(i)
			}
			spin(500 * time.Microsecond)
		})
		took = append(took, measure.Ms(time.Since(t)))
	}
	close(stop)
	bg.Wait()
	measure.Print(map[string]any{"cause": cause, "frames": frames, "frame_ms": took})
}
