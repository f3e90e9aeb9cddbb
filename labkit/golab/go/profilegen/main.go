// Command profilegen writes real Go profiles for labkit.profiles's loaders to read, so that the
// course's tests can check the loaders against `go tool pprof` on the toolchain at hand.
//
// Usage:
//
//	profilegen -out DIR [-cpu 1s]
//
// It writes, into DIR:
//
//	cpu.pprof             CPU profile (gzip protobuf, 100 Hz, runtime/pprof.StartCPUProfile)
//	heap.pprof            heap profile (gzip protobuf, every allocation recorded: MemProfileRate=1)
//	goroutine.pprof       goroutine profile, ?debug=0 (gzip protobuf)
//	goroutine-debug1.txt  goroutine profile, ?debug=1 (text: counts per distinct stack)
//	goroutine-debug2.txt  goroutine dump, ?debug=2 (text: one block per goroutine, with state)
//
// What the profiles contain, by design:
//   - CPU time in main.spin (with main.mix inlined into it: several Lines per Location),
//     main.fib (recursion: the same function many times in one stack) and main.checksum
//     (calls into crypto/sha256);
//   - heap kept alive by main.retain and garbage made by main.churn;
//   - goroutines parked by main.park* functions, one function per wait reason (the names of the
//     reasons are runtime.waitReasonStrings in src/runtime/runtime2.go): chan receive, chan
//     send, select, select (no cases), sleep, IO wait, sync.Mutex.Lock, sync.WaitGroup.Wait,
//     syscall, and one chan receive locked to its thread (runtime.LockOSThread).
//
// The parked goroutines stay parked until the process exits; their number per function is fixed
// (see parkers below) so that tests can check the goroutine profiles' counts exactly.
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"
)

// sink keeps the results of the CPU-burning functions alive so the compiler cannot drop them.
var sink uint64

// retained keeps main.retain's allocations reachable, so they show up as in-use heap.
var retained [][]byte

// mix is a 64-bit finaliser (the one of splitmix64). It is small enough to be inlined into spin,
// so CPU samples taken inside it have a Location with two Lines: main.mix, then main.spin.
func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return x
}

//go:noinline
func spin(n int) uint64 {
	var x uint64
	for i := 0; i < n; i++ {
		x = mix(x + uint64(i))
	}
	return x
}

// fib is recursive on purpose: a CPU sample in it holds main.fib many times in one stack, which is
// where "cum counts a function once per sample" matters.
func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

//go:noinline
func checksum(rounds int) uint64 {
	buf := make([]byte, 4096)
	var sum [32]byte
	for i := 0; i < rounds; i++ {
		buf[0] = byte(i)
		sum = sha256.Sum256(buf)
	}
	return uint64(sum[0])
}

// burn spends about d of CPU time in spin, fib and checksum, in a 2:1:1 ratio of calls.
//
//go:noinline
func burn(d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		sink += spin(200_000)
		sink += spin(200_000)
		sink += uint64(fib(22))
		sink += checksum(40)
	}
}

//go:noinline
func retain(n, size int) {
	for i := 0; i < n; i++ {
		retained = append(retained, make([]byte, size))
	}
}

//go:noinline
func churn(n, size int) {
	for i := 0; i < n; i++ {
		b := make([]byte, size)
		sink += uint64(len(b))
	}
}

// The park* functions each block their goroutine for good, in one wait reason.

//go:noinline
func parkChanReceive(ch chan int) { <-ch }

//go:noinline
func parkChanSend(ch chan int) { ch <- 1 }

//go:noinline
func parkSelect(a, b chan int) {
	select {
	case <-a:
	case <-b:
	}
}

//go:noinline
func parkSelectNoCases() { select {} }

//go:noinline
func parkSleep() { time.Sleep(24 * time.Hour) }

// parkIOWait reads from an os.Pipe: the pipe is non-blocking and registered with the netpoller,
// so the goroutine parks in "IO wait" and holds no thread.
//
//go:noinline
func parkIOWait(r *os.File) {
	var b [1]byte
	_, _ = r.Read(b[:])
}

//go:noinline
func parkMutex(mu *sync.Mutex) { mu.Lock() }

//go:noinline
func parkWaitGroup(wg *sync.WaitGroup) { wg.Wait() }

// parkSyscall reads from a blocking pipe with a raw read(2): the goroutine stays in the system
// call and keeps its thread (state "syscall").
//
//go:noinline
func parkSyscall(fd int) {
	var b [1]byte
	_, _ = syscall.Read(fd, b[:])
}

// parkLocked locks its goroutine to its thread, then waits on a channel: "chan receive, locked to
// thread".
//
//go:noinline
func parkLocked(ch chan int) {
	runtime.LockOSThread()
	<-ch
}

// parkers starts the parked goroutines. Their numbers are what the tests expect.
func parkers() error {
	// Each group waits on channels of its own: a receiver and a sender on one channel would meet.
	recvOnly, sendOnly, lockedRecv := make(chan int), make(chan int), make(chan int)
	for i := 0; i < 3; i++ {
		go parkChanReceive(recvOnly)
	}
	for i := 0; i < 2; i++ {
		go parkChanSend(sendOnly)
	}
	for i := 0; i < 2; i++ {
		go parkSelect(make(chan int), make(chan int))
	}
	go parkSelectNoCases()
	for i := 0; i < 2; i++ {
		go parkSleep()
	}
	// One pipe per reader: readers of one *os.File queue on its fdMutex ("semacquire") behind the
	// first, which alone waits in the netpoller.
	for i := 0; i < 3; i++ {
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		retainedFiles = append(retainedFiles, r, w)
		go parkIOWait(r)
	}
	mu := new(sync.Mutex)
	mu.Lock() // held for good
	for i := 0; i < 2; i++ {
		go parkMutex(mu)
	}
	wg := new(sync.WaitGroup)
	wg.Add(1) // never Done
	go parkWaitGroup(wg)
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		return err
	}
	go parkSyscall(fds[0])
	go parkLocked(lockedRecv)
	return nil
}

// retainedFiles keeps the pipe's ends open (an unreachable *os.File may be closed by its cleanup).
var retainedFiles []*os.File

func writeProfile(dir, file string, write func(f *os.File) error) error {
	f, err := os.Create(filepath.Join(dir, file))
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func run(dir string, cpu time.Duration) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := parkers(); err != nil {
		return err
	}

	// CPU profile: the parked goroutines settle meanwhile.
	f, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	burn(cpu)
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		return err
	}

	// Heap profile: 64 retained blocks of 64 KiB, 2000 garbage blocks of 1 KiB. The heap profile
	// shows the state as of the last completed GC, so run one first.
	retain(64, 64<<10)
	churn(2000, 1<<10)
	runtime.GC()
	if err := writeProfile(dir, "heap.pprof", func(f *os.File) error {
		return pprof.Lookup("heap").WriteTo(f, 0)
	}); err != nil {
		return err
	}

	for _, p := range []struct {
		file  string
		debug int
	}{{"goroutine.pprof", 0}, {"goroutine-debug1.txt", 1}, {"goroutine-debug2.txt", 2}} {
		if err := writeProfile(dir, p.file, func(f *os.File) error {
			return pprof.Lookup("goroutine").WriteTo(f, p.debug)
		}); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	// Record every allocation (not one per 512 KiB on average), so the heap profile's numbers are
	// the program's own and not a sampling estimate. Set first, before anything allocates.
	runtime.MemProfileRate = 1
	out := flag.String("out", "", "directory to write the profiles into (created if missing)")
	cpu := flag.Duration("cpu", time.Second, "how long to burn CPU while the CPU profile runs")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "profilegen: -out DIR is required")
		os.Exit(2)
	}
	if err := run(*out, *cpu); err != nil {
		fmt.Fprintln(os.Stderr, "profilegen:", err)
		os.Exit(1)
	}
}
