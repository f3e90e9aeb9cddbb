// Command profiles writes runtime/pprof's profiles twice, as ?debug=0 (gzip protobuf) and as
// ?debug=1 (text), one right after the other, so that labkit.profiles's text readers can be
// checked against the protobuf of the same records and against `go tool pprof`.
//
// Usage:
//
//	profiles -out DIR
//
// It writes NAME.pb.gz and NAME-debug1.txt for heap, allocs, block, mutex, threadcreate and
// goroutine (pprof.Lookup(NAME).WriteTo(w, 0) and WriteTo(w, 1)). One allocation in 32 KiB is
// sampled (MemProfileRate: pprof's unsampling is exercised), every blocking event and mutex
// contention is recorded (SetBlockProfileRate(1), SetMutexProfileFraction(1)), and the work
// that makes them has ended before anything is written; a pair is written again if the records
// changed meanwhile (writePair): both files of a pair hold the same records.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"time"
)

var sink [][]byte

//go:noinline
func allocSmall(n int) {
	for i := 0; i < n; i++ {
		sink = append(sink, make([]byte, 64))
	}
}

//go:noinline
func allocLarge(n int) {
	for i := 0; i < n; i++ {
		sink = append(sink, make([]byte, 1<<16))
	}
}

// allocGeneric allocates in a generic function: Go's ?debug=1 text names it allocGeneric[...]
// (runtime.Frame.Function) where the protobuf says allocGeneric[go.shape.int64]. Each 256 KiB
// slice is sampled with probability 1-exp(-8) at this MemProfileRate, so four all but surely
// put one in the profile.
//
//go:noinline
func allocGeneric[T any](n int) {
	for i := 0; i < n; i++ {
		genericSink = append(genericSink, make([]T, (256<<10)/8))
	}
}

var genericSink []any

//go:noinline
func churn(n int) {
	for i := 0; i < n; i++ {
		b := make([]byte, 4096)
		b[0] = byte(i)
	}
}

// contend makes mutex contention (sync.Mutex.Unlock with waiters: the mutex profile) and
// blocking on the mutex and on a channel (the block profile).
func contend() {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				mu.Lock()
				time.Sleep(100 * time.Microsecond)
				mu.Unlock()
			}
		}()
	}
	ch := make(chan int)
	go func() {
		for i := 0; i < 5; i++ {
			time.Sleep(time.Millisecond)
			ch <- i
		}
		close(ch)
	}()
	for range ch {
	}
	wg.Wait()
}

// park starts goroutines that stay blocked while the goroutine profiles are written.
func park() {
	block := make(chan struct{})
	for i := 0; i < 3; i++ {
		go func() { <-block }()
	}
	var mu sync.Mutex
	mu.Lock()
	for i := 0; i < 2; i++ {
		go func() { mu.Lock() }()
	}
	// Threads for the threadcreate profile: a locked goroutine forces a new M.
	go func() {
		runtime.LockOSThread()
		<-block
	}()
	time.Sleep(50 * time.Millisecond)
}

func write(dir, name string, debug int) error {
	file := name + ".pb.gz"
	if debug != 0 {
		file = name + "-debug1.txt"
	}
	f, err := os.Create(filepath.Join(dir, file))
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, debug); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func main() {
	out := flag.String("out", "", "directory to write into")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "usage: profiles -out DIR")
		os.Exit(2)
	}
	runtime.MemProfileRate = 32 << 10
	runtime.SetBlockProfileRate(1)
	runtime.SetMutexProfileFraction(1)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	allocSmall(200)
	allocLarge(8)
	allocGeneric[int64](4)
	churn(100)
	contend()
	park()
	runtime.GC() // the heap profile shows the state as of the last GC
	// Keep the records still while they are written twice: no GC cycle publishes the writer's
	// own allocations between the two heap files, and with one P the runtime's locks are rarely
	// contended (runtime lock contention goes into the mutex profile).
	debug.SetGCPercent(-1)
	runtime.GOMAXPROCS(1)
	for _, name := range []string{"heap", "allocs", "block", "mutex", "threadcreate", "goroutine"} {
		if err := writePair(*out, name); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// writePair writes NAME.pb.gz and NAME-debug1.txt, again if the records changed meanwhile.
// Even with one P and the GC off they can: the runtime records contention on its own locks in
// the mutex profile (runtime.unlock under gcstopm, when a stop-the-world such as ReadMemStats'
// in the heap text meets another M), and an M stores such a record only once it holds no lock,
// so one can land between the two files (1 pair in 300 under load, 2026-12-05).
func writePair(dir, name string) error {
	for try := 0; try < 5; try++ {
		before := records(name)
		for _, level := range []int{0, 1} {
			if err := write(dir, name, level); err != nil {
				return err
			}
		}
		if records(name) == before {
			return nil
		}
	}
	return fmt.Errorf("%s: the records changed while each of 5 pairs was written", name)
}

// records is the profile's records as the runtime hands them out, to compare before and after
// a pair is written ("" for the goroutine profile: its files are not compared with each other).
func records(name string) string {
	switch name {
	case "heap", "allocs":
		var p []runtime.MemProfileRecord
		for n, ok := runtime.MemProfile(nil, true); !ok; {
			p = make([]runtime.MemProfileRecord, n+64) // records may be added between the calls
			n, ok = runtime.MemProfile(p, true)
			p = p[:min(n, len(p))]
		}
		// Only records with counts: the writer's own sampled allocations add stacks whose
		// counts stay zero until the next GC publishes them (mProf_Malloc records into a
		// future cycle), and a zero record is no sample to pprof.
		var counted []runtime.MemProfileRecord
		for _, r := range p {
			if r.AllocObjects != 0 || r.FreeObjects != 0 {
				counted = append(counted, r)
			}
		}
		return fmt.Sprint(counted)
	case "block", "mutex":
		get := runtime.BlockProfile
		if name == "mutex" {
			get = runtime.MutexProfile
		}
		var p []runtime.BlockProfileRecord
		for n, ok := get(nil); !ok; {
			p = make([]runtime.BlockProfileRecord, n+64)
			n, ok = get(p)
			p = p[:min(n, len(p))]
		}
		return fmt.Sprint(p)
	case "threadcreate":
		var p []runtime.StackRecord
		for n, ok := runtime.ThreadCreateProfile(nil); !ok; {
			p = make([]runtime.StackRecord, n+64)
			n, ok = runtime.ThreadCreateProfile(p)
			p = p[:min(n, len(p))]
		}
		return fmt.Sprint(p)
	}
	return ""
}
