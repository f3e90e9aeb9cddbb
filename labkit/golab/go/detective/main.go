// Command detective writes the profiles of lab 3, "the flame-graph detective": a small
// dashboard renderer that stalls for one hidden cause per scenario.
//
// Usage:
//
//	detective -scenario NAME -out FILE [-duration 1.5s]
//
// Every scenario runs the same dashboard loop (main.(*dashboard).run -> main.renderFrame) on
// GOMAXPROCS=2. Most record a CPU profile at the default 100 Hz (runtime/pprof.StartCPUProfile,
// gzip-compressed protobuf). What differs is the one cause the learner must find:
//
//	loop     a tight layout loop in main.layoutGraph eats the frame budget
//	syscall  a logger writes every point unbuffered: one write(2) per point (syscall storm)
//	mutex    eight goroutines update one map under a single sync.Mutex (lock contention)
//	alloc    each frame allocates a fresh 1024x768 RGBA buffer: the GC and mallocgc dominate
//	pooled   the fix for alloc: frame buffers come from a sync.Pool
//	assist   main.seriesKey builds keys by string concatenation, all kept, over a large live heap:
//	         the GC charges the allocating goroutine mark assists (allocation / GC, hidden
//	         under a function that does not look like it allocates)
//	logger   a log.Logger writes one timestamped line per point to an unbuffered file
//	         (syscall storm, under the logging library's frames)
//
// Two record the goroutine profile instead (pprof.Lookup("goroutine"), debug=0), the evidence
// for goroutines that wait rather than run:
//
//	convoy   tile handlers read a cache under sync.RWMutex.RLock while a refresh holds the
//	         write lock across a slow reload: the snapshot, taken mid-refresh, finds them
//	         queued on the lock (lock contention, a convoy that uses no CPU)
//	leak     each tile fetch starts a goroutine that sends its result on an unbuffered channel;
//	         the caller gives up after 1 ms and the sender blocks forever (goroutine leak)
//
// And one records an execution trace (runtime/trace) for its scheduler-latency profile
// (go tool trace -pprof=sched, labkit.traces's to_profile("sched")):
//
//	sched    four archive compressors run tight loops beside the render loop on two Ps: every
//	         goroutine, the renderer included, waits runnable for a P (waiting for a P)
//	syncwait the convoy scenario, traced: its synchronization-blocking profile
//	         (go tool trace -pprof=sync) shows where goroutines waited on the lock
//
// scripts/make_lab03_profiles.py builds and runs it to regenerate labkit/data/profiles/.
package main

import (
	"flag"
	"fmt"
	"image"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"sync"
	"time"
)

var sink uint64

type dashboard struct {
	points []float64
	mu     sync.Mutex
	stats  map[int]int
	log    *os.File
	logger *log.Logger
	pool   sync.Pool
	shards [2][]string // the "assist" scenario's series logs, one per indexing goroutine
	cache  seriesCache
}

// seriesCache is the "convoy" scenario's lock: readers share it, a refresh takes it alone.
type seriesCache struct {
	mu sync.RWMutex
	m  map[int]float64
}

// Get looks harmless: a map read under a read lock.
//
//go:noinline
func (c *seriesCache) Get(k int) float64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[k%len(c.m)]
}

// refresh rebuilds the cache holding the write lock across a slow reload (a database query):
// every reader that arrives meanwhile queues behind it.
func (c *seriesCache) refresh(reload time.Duration, holding chan<- struct{}) {
	c.mu.Lock()
	holding <- struct{}{}
	time.Sleep(reload)
	for k := range c.m {
		c.m[k]++
	}
	c.mu.Unlock()
}

// node is one element of the "assist" scenario's reachable heap.
type node struct {
	next *node
	v    int
}

// live is the "assist" scenario's reachable heap: a long linked list, which the GC can only mark
// one pointer after another, so each cycle's mark phase is long and a goroutine that allocates
// while it runs is charged mark assists (runtime.gcAssistAlloc, src/runtime/mgcmark.go).
var live *node

// seriesKey is the "assist" scenario's culprit: it reads as formatting, and it allocates three
// strings per call.
//
//go:noinline
func seriesKey(host string, i int) string {
	return host + "/" + strconv.Itoa(i) + "/" + strconv.Itoa(i*31)
}

// fetchAsync is the "leak" scenario's culprit: the result channel is unbuffered, so when the
// caller stops waiting the sender blocks on it forever.
//
//go:noinline
func (d *dashboard) fetchAsync(i int) float64 {
	result := make(chan float64)
	go func() {
		time.Sleep(2 * time.Millisecond) // the query
		result <- d.points[i%len(d.points)]
	}()
	select {
	case v := <-result:
		return v
	case <-time.After(time.Millisecond):
		return 0
	}
}

// compressArchive is the "sched" scenario's CPU-bound background work: a loop with calls, so
// it is preemptible, but there are more such goroutines than Ps.
//
//go:noinline
func compressArchive(stop <-chan struct{}) {
	var acc uint64
	for {
		select {
		case <-stop:
			sink += acc
			return
		default:
		}
		acc += layoutGraph(200)
	}
}

// renderFrame draws the points into img: the honest work every scenario shares.
//
//go:noinline
func renderFrame(img *image.RGBA, points []float64) {
	w := img.Rect.Dx()
	for i, p := range points {
		x := i % w
		y := int(p) % img.Rect.Dy()
		off := y*img.Stride + x*4
		img.Pix[off] = 0xff
		img.Pix[off+3] = 0xff
	}
}

// layoutGraph is the "loop" scenario's culprit: a quadratic force layout with no calls inside.
//
//go:noinline
func layoutGraph(n int) uint64 {
	var acc uint64
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			acc += uint64(i*j) ^ (acc >> 3)
		}
	}
	return acc
}

// logPoint is the "syscall" scenario's culprit: one unbuffered write(2) per point.
//
//go:noinline
func (d *dashboard) logPoint(p float64) {
	fmt.Fprintf(d.log, "%f\n", p)
}

// updateStats is the "mutex" scenario's culprit: every worker takes the same lock per point.
//
//go:noinline
func (d *dashboard) updateStats(p float64) {
	d.mu.Lock()
	d.stats[int(p)%64]++
	d.mu.Unlock()
}

func (d *dashboard) ingest(worker, n int) {
	for i := 0; i < n; i++ {
		d.updateStats(float64(worker*n + i))
	}
}

func (d *dashboard) frameBuffer(scenario string) *image.RGBA {
	switch scenario {
	case "alloc":
		return image.NewRGBA(image.Rect(0, 0, 1024, 768))
	case "pooled":
		return d.pool.Get().(*image.RGBA)
	}
	return nil
}

func (d *dashboard) run(scenario string, until time.Time) {
	reuse := image.NewRGBA(image.Rect(0, 0, 1024, 768))
	for frame := 0; time.Now().Before(until); frame++ {
		img := reuse
		if b := d.frameBuffer(scenario); b != nil {
			img = b
		}
		renderFrame(img, d.points)
		switch scenario {
		case "loop":
			sink += layoutGraph(900)
		case "syscall":
			for _, p := range d.points[:400] {
				d.logPoint(p)
			}
		case "mutex":
			var wg sync.WaitGroup
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func(w int) { defer wg.Done(); d.ingest(w, 3000) }(w)
			}
			wg.Wait()
		case "pooled":
			d.pool.Put(img)
		case "assist":
			// A series log that keeps every key it has made: the live heap grows with
			// pointers (strings in a slice), the pacer's estimate of the mark work runs
			// behind, and the goroutine allocating the keys pays for marking them.
			// Two shards are indexed at once, so both Ps are busy and no idle P is left to
			// run the GC's idle mark worker (gcDrainMarkWorkerIdle) in their place.
			var wg sync.WaitGroup
			for s := range d.shards {
				wg.Add(1)
				go func(s int) {
					defer wg.Done()
					for i := range d.points[:4000] {
						d.shards[s] = append(d.shards[s], seriesKey("tile-host", (frame*4000+i)*2+s))
					}
				}(s)
			}
			wg.Wait()
		case "logger":
			for i, p := range d.points[:400] {
				d.logger.Printf("point i=%d v=%g", i, p)
			}
		case "leak":
			for i := 0; i < 20; i++ {
				sink += uint64(d.fetchAsync(i))
			}
		case "sched":
			time.Sleep(2 * time.Millisecond) // the next frame's timer
		}
		sink += uint64(img.Pix[0])
	}
}

// kinds: which profile each scenario records.
var kinds = map[string]string{
	"loop": "cpu", "syscall": "cpu", "mutex": "cpu", "alloc": "cpu", "pooled": "cpu",
	"assist": "cpu", "logger": "cpu", "convoy": "goroutine", "leak": "goroutine", "sched": "trace",
	"syncwait": "trace",
}

func main() {
	scenario := flag.String("scenario", "loop", "one of the scenarios in the package comment")
	out := flag.String("out", "cpu.pprof", "where to write the profile (or the trace)")
	duration := flag.Duration("duration", 1500*time.Millisecond, "how long to run")
	flag.Parse()
	kind, ok := kinds[*scenario]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown -scenario %q\n", *scenario)
		os.Exit(2)
	}
	runtime.GOMAXPROCS(2)
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		panic(err)
	}
	d := &dashboard{stats: map[int]int{}, log: devnull}
	d.logger = log.New(devnull, "dashboard ", log.LstdFlags|log.Lmicroseconds)
	d.pool.New = func() any { return image.NewRGBA(image.Rect(0, 0, 1024, 768)) }
	for i := 0; i < 20000; i++ {
		d.points = append(d.points, float64(i*7919%100003))
	}
	f, err := os.Create(*out)
	if err != nil {
		panic(err)
	}
	switch kind {
	case "cpu":
		if *scenario == "assist" {
			for i := 0; i < 1_500_000; i++ {
				live = &node{next: live, v: i}
			}
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			panic(err)
		}
		d.run(*scenario, time.Now().Add(*duration))
		pprof.StopCPUProfile()
	case "goroutine":
		d.goroutineSnapshot(*scenario, *duration, f)
	case "trace":
		if err := trace.Start(f); err != nil {
			panic(err)
		}
		if *scenario == "syncwait" {
			d.convoy(*duration)
			time.Sleep(200 * time.Millisecond) // the refresh ends; the queued readers run
		} else {
			stop := make(chan struct{})
			for i := 0; i < 4; i++ {
				go compressArchive(stop)
			}
			d.run(*scenario, time.Now().Add(*duration))
			close(stop)
		}
		trace.Stop()
	}
	if err := f.Close(); err != nil {
		panic(err)
	}
	fmt.Println("wrote", *out, "sink", sink%7)
}

// convoy starts the tile handlers (each reads the cache every 2 ms), lets them run, then
// refreshes the cache under its write lock and returns 20 ms into the refresh, when the
// handlers have queued behind it.
func (d *dashboard) convoy(duration time.Duration) {
	d.cache.m = map[int]float64{}
	for i := 0; i < 1024; i++ {
		d.cache.m[i] = float64(i)
	}
	for h := 0; h < 48; h++ {
		go d.serveTile(h)
	}
	time.Sleep(duration / 2)
	holding := make(chan struct{})
	go d.cache.refresh(200*time.Millisecond, holding)
	<-holding
	time.Sleep(20 * time.Millisecond) // the handlers arrive and queue
}

// serveTile is a tile handler of the "convoy" scenario: it reads the cache in a loop.
func (d *dashboard) serveTile(h int) {
	for i := 0; ; i++ {
		sink += uint64(d.cache.Get(h*1000 + i))
		time.Sleep(2 * time.Millisecond)
	}
}

// goroutineSnapshot runs a goroutine-profile scenario and writes the profile at the moment that
// shows it: mid-refresh for the convoy, after the run for the leak.
func (d *dashboard) goroutineSnapshot(scenario string, duration time.Duration, f *os.File) {
	if scenario == "leak" {
		d.run(scenario, time.Now().Add(duration))
	} else {
		d.convoy(duration)
	}
	if err := pprof.Lookup("goroutine").WriteTo(f, 0); err != nil {
		panic(err)
	}
}
