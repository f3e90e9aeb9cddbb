// Command detective writes the CPU profiles of lab 3, "the flame-graph detective": a small
// dashboard renderer that stalls for one hidden cause per scenario.
//
// Usage:
//
//	detective -scenario NAME -out FILE [-duration 1.5s]
//
// Every scenario runs the same dashboard loop (main.(*dashboard).run -> main.renderFrame) on
// GOMAXPROCS=2 and records a CPU profile at the default 100 Hz (runtime/pprof.StartCPUProfile,
// gzip-compressed protobuf). What differs is the one cause the learner must find:
//
//	loop     a tight layout loop in main.layoutGraph eats the frame budget
//	syscall  a logger writes every point unbuffered: one write(2) per point (syscall storm)
//	mutex    eight goroutines update one map under a single sync.Mutex (lock contention)
//	alloc    each frame allocates a fresh 1024x768 RGBA buffer: the GC and mallocgc dominate
//	pooled   the fix for alloc: frame buffers come from a sync.Pool
//
// scripts/make_lab03_profiles.py builds and runs it to regenerate labkit/data/profiles/.
package main

import (
	"flag"
	"fmt"
	"image"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

var sink uint64

type dashboard struct {
	points []float64
	mu     sync.Mutex
	stats  map[int]int
	log    *os.File
	pool   sync.Pool
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
	for time.Now().Before(until) {
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
		}
		sink += uint64(img.Pix[0])
	}
}

func main() {
	scenario := flag.String("scenario", "loop", "loop, syscall, mutex, alloc or pooled")
	out := flag.String("out", "cpu.pprof", "where to write the CPU profile")
	duration := flag.Duration("duration", 1500*time.Millisecond, "how long to profile")
	flag.Parse()
	switch *scenario {
	case "loop", "syscall", "mutex", "alloc", "pooled":
	default:
		fmt.Fprintf(os.Stderr, "unknown -scenario %q\n", *scenario)
		os.Exit(2)
	}
	runtime.GOMAXPROCS(2)
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		panic(err)
	}
	d := &dashboard{stats: map[int]int{}, log: devnull}
	d.pool.New = func() any { return image.NewRGBA(image.Rect(0, 0, 1024, 768)) }
	for i := 0; i < 20000; i++ {
		d.points = append(d.points, float64(i*7919%100003))
	}
	f, err := os.Create(*out)
	if err != nil {
		panic(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		panic(err)
	}
	d.run(*scenario, time.Now().Add(*duration))
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		panic(err)
	}
	fmt.Println("wrote", *out, "sink", sink%7)
}
