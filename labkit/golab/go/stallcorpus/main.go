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
//	16 syscall: a worker computes for 20 ms in 0.5 ms pieces (each ends in runtime.Gosched, so
//	  its P passes through the scheduler and runs its timers) and then reads its next record
//	  from a pipe a child process (this program, run again as the writer) writes a byte to
//	  every 30 ms; the pipe is blocking (syscall.Pipe), so the read blocks in read(2) and
//	  keeps the P (entersyscall, proc.go):
//	  only the call's return or sysmon's retake frees it, and sysmon, with nothing to retake
//	  for 20 ms, sleeps 10 ms between rounds and retakes a P seen in the same call twice
//	  (retake, proc.go). The frame's timer on that P waits. With a second P, that P's thread,
//	  idle in netpoll until the next timer of any P, runs it (findRunnable, stealWork)
//	32 channel: each frame waits for its data on a channel a slow producer fills every 12 ms
//	64 network: the frame is paced by a pipe a child process (sh) writes a byte to every 4 ms,
//	  instead of a sleep: the read parks on the network poller (os.Pipe is non-blocking:
//	  netpollblock, src/runtime/netpoll.go), which a P polls only when it looks for work
//	  (findRunnable) and sysmon every 10 ms at most (sysmon -> netpoll, proc.go); with 64|1
//	  the hogs keep every P from looking
//	128 cgo: as 16, but the worker's 8 ms after its computing are a call into C (a codec that
//	  computes: encode_cgo.go, built only with CGO_ENABLED=1): cgocall enters the runtime as a
//	  system call does (entersyscall), so the P waits in the call the same way
//	256 calls: each frame takes 1000 draw commands from a scene goroutine over an unbuffered
//	  channel (one goroutine switch each: chansend readies the receiver, chan.go)
//	512 locked: the render loop is locked to its thread (runtime.LockOSThread) before its first
//	  frame. Alone it costs a thread wake-up when the frame wakes (startlockedm) and one when
//	  it sleeps (stoplockedm, proc.go); with 256, every command is two: the P goes to the
//	  scene goroutine's thread and back, as in a GUI whose locked main thread serves calls
//	  from other goroutines
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

// encode is cause 128's call into C (encode_cgo.go sets it when cgo builds the program).
var encode func(ms int) uint64

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
	if cause&(16|128) != 0 {
		wait := func() { sink += encode(8) }
		if cause&128 == 0 {
			read, kill := recordReader()
			defer kill()
			wait = read
		} else if encode == nil {
			panic("cause 128 needs cgo: build with CGO_ENABLED=1 and encode_cgo.go")
		}
		start(func() {
			for !stopped() {
				for k := 0; k < 40; k++ {
					spin(500 * time.Microsecond)
					runtime.Gosched()
				}
				wait()
			}
		})
	}
	commands := make(chan int)
	if cause&256 != 0 {
		start(func() {
			for !stopped() {
				for k := 0; k < 1000; k++ {
					select {
					case commands <- k:
					case <-stop:
						return
					}
				}
			}
		})
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
	if cause&512 != 0 {
		runtime.LockOSThread()
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
			if cause&256 != 0 {
				for k := 0; k < 1000; k++ {
					sink += uint64(<-commands)
				}
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

// recordsEnv makes the program the writer of cause 16's records instead (see writeRecords).
const recordsEnv = "STALLCORPUS_RECORDS"

func init() {
	if os.Getenv(recordsEnv) != "" {
		writeRecords()
	}
}

// writeRecords is cause 16's child process: a byte to stdout every 30 ms until the pipe
// closes. A Go loop, not a shell's (which forks a sleep(1) per record: a few ms of CPU each
// time, taken from the worker it wakes on a 2-CPU machine).
func writeRecords() {
	for {
		time.Sleep(30 * time.Millisecond)
		if _, err := os.Stdout.Write([]byte{'x'}); err != nil {
			os.Exit(0)
		}
	}
}

// recordReader starts a child process (this program as the writer) that writes a byte every
// 30 ms to a blocking pipe and returns a read of the next byte (read(2) blocks in the kernel
// until it comes) and the child's end.
func recordReader() (func(), func()) {
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil { // blocking, unlike os.Pipe's (netpoller) ends
		panic(err)
	}
	w := os.NewFile(uintptr(fds[1]), "records")
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), recordsEnv+"=1")
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	w.Close()
	one := make([]byte, 1)
	read := func() {
		if n, err := syscall.Read(fds[0], one); n != 1 || err != nil {
			panic("the record pipe closed")
		}
	}
	return read, func() { cmd.Process.Kill() }
}
