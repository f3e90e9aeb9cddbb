// Command gc_frames renders frames into *image.RGBA buffers, allocating a new buffer per frame
// or reusing them through a sync.Pool, and counts the GC cycles this causes. Run it with
// GODEBUG=gctrace=1 to get one line per cycle on stderr, and GOGC to move the heap goal.
//
// Each 1024x768 RGBA frame is 3 MiB. Allocating one per frame makes the heap grow by 3 MiB a
// frame; the pacer sets the goal at live + (live + stacks + globals) * GOGC/100, at least
// 4 MiB * GOGC/100 (heapMinimum; gcControllerState.heapGoal in src/runtime/mgcpacer.go), and
// starts a cycle a little before the heap reaches it, at the trigger
// (gcControllerState.trigger), so with a small live heap nearly every frame triggers a cycle.
// A sync.Pool hands the same buffer back, the heap stops growing and cycles stop.
//
// With -repeats > 1 the frames are rendered that many times, each after a forced runtime.GC() so
// that every repeat starts from the same heap; the forced cycles are not counted, and the
// per-repeat cycle counts and rates are reported with their medians.
//
// One JSON object on stdout: cycles, rate, frame times, heap figures.
package main

import (
	"flag"
	"image"
	"labkit.local/golab/measure"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"sync"
	"time"
)

var sink uint64

// draw fills the frame with a moving gradient: every byte of the buffer is written.
func draw(img *image.RGBA, frame int) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < w; x++ {
			row[4*x] = uint8(x + frame)
			row[4*x+1] = uint8(y + frame)
			row[4*x+2] = uint8(x ^ y)
			row[4*x+3] = 0xff
		}
	}
}

// present stands in for handing the frame to the display: it reads a sample of the pixels.
func present(img *image.RGBA) {
	s := uint64(0)
	for i := 0; i < len(img.Pix); i += 4099 {
		s += uint64(img.Pix[i])
	}
	sink += s
}

func percentile(xs []float64, q float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[int(q*float64(len(s)-1)+0.5)]
}

func main() {
	width := flag.Int("width", 1024, "frame width, pixels")
	height := flag.Int("height", 768, "frame height, pixels")
	frames := flag.Int("frames", 60, "frames to render")
	fps := flag.Float64("fps", 60, "target frame rate; 0 renders as fast as possible")
	pooled := flag.Bool("pooled", false, "reuse frame buffers through a sync.Pool")
	repeats := flag.Int("repeats", 1, "renderings of -frames frames; medians are reported")
	flag.Parse()

	rect := image.Rect(0, 0, *width, *height)
	pool := sync.Pool{New: func() any { return image.NewRGBA(rect) }}
	var period time.Duration
	if *fps > 0 {
		period = time.Duration(float64(time.Second) / *fps)
	}

	var before, after runtime.MemStats
	frameMs := make([]float64, 0, *frames**repeats)
	var cycleRuns, rateRuns, secondRuns []float64
	var first runtime.MemStats
	runtime.ReadMemStats(&first)
	for r := range *repeats {
		if r > 0 {
			runtime.GC() // the same starting heap for every repeat; not counted below
		}
		runtime.ReadMemStats(&before)
		start := time.Now()
		for f := range *frames {
			t := time.Now()
			var img *image.RGBA
			if *pooled {
				img = pool.Get().(*image.RGBA)
			} else {
				img = image.NewRGBA(rect)
			}
			draw(img, f)
			present(img)
			if *pooled {
				pool.Put(img)
			}
			frameMs = append(frameMs, float64(time.Since(t).Nanoseconds())/1e6)
			if period > 0 {
				if wait := time.Until(start.Add(time.Duration(f+1) * period)); wait > 0 {
					time.Sleep(wait)
				}
			}
		}
		seconds := time.Since(start).Seconds()
		runtime.ReadMemStats(&after)
		cycles := float64(after.NumGC - before.NumGC)
		cycleRuns = append(cycleRuns, cycles)
		rateRuns = append(rateRuns, cycles/seconds)
		secondRuns = append(secondRuns, seconds)
	}
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	liveBytes := float64(live[0].Value.Uint64())
	if after.NumGC == 0 { // no cycle has marked anything yet: everything allocated is live
		liveBytes = float64(after.HeapAlloc)
	}
	allocMB := float64(after.TotalAlloc-first.TotalAlloc) / float64(*repeats) / (1 << 20)

	out := map[string]any{
		"gc_cycles":      measure.Median(cycleRuns),
		"gc_per_s":       measure.Median(rateRuns),
		"seconds":        measure.Median(secondRuns),
		"gc_cycles_runs": cycleRuns,
		"gc_per_s_runs":  rateRuns,
		"repeats":        *repeats,
		"pooled":         *pooled,
		"heap_live_mb":   liveBytes / (1 << 20),
		"frame_bytes":    4 * *width * *height, // RGBA: 4 bytes per pixel
		"frames":         *frames,
		"fps":            *fps,
		"frame_ms_p50":   percentile(frameMs, 0.5),
		"frame_ms_p99":   percentile(frameMs, 0.99),
		"frame_ms_max":   percentile(frameMs, 1),
		"alloc_mb":       allocMB,
		"gc_pause_ms":    float64(after.PauseTotalNs-before.PauseTotalNs) / 1e6,
		"gogc":           os.Getenv("GOGC"),
	}
	measure.Print(out)
}
