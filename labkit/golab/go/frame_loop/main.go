// Command frame_loop is the real twin of chapter 1's render stall (labkit.models.renderloop.simulate_frames
// with gomaxprocs=1, producer_cpu_fraction=0.1; labkit.golab.twins runs it on GOMAXPROCS=1 with
// an execution trace). It is go/gc_render's dashboard cut to a short traced run: 64 MiB of live
// pointer nodes (measure.PointerTree: every word scanned each cycle), a render goroutine that
// wakes at each frame's due time (start + i/60 s), gets a 1024x768 *image.RGBA (a fresh
// image.NewRGBA, 3 MiB, or a sync.Pool's: `pooled`), composes it with image/draw (the
// background, one translucent panel and the chart updates the producers queued) and sends it to
// a display goroutine, which reads it and, when pooled, puts it back; four producers each keep
// a tenth of a CPU busy in 10 ms slices, allocate 2 MiB/s of 512-byte samples with pointers and
// queue 100 chart updates a second.
//
// With one P a frame due while a GC mark worker holds the P waits: the render goroutine's
// timer fires only when the P next schedules (an idle worker yields only to queued work,
// pollWork in src/runtime/proc.go; a fractional or dedicated one at sysmon's preemption,
// retake, forcePreemptNS = 10 ms). The trace shows who held the P.
//
// After building the heap, a forced runtime.GC() and 0.5 s of unmeasured frames (the pacer
// learns the program), 2 s of frames are measured (a short run keeps the trace small). Per frame, ms since t0 (the moment the render goroutine is created,
// which the trace records: a trace's GoCreate of main.render aligns the two clocks): start (its
// due time, or the end of the previous frame if later), and the parts wait (start -> the render
// goroutine runs), alloc (getting the buffer: zeroing, mark assist, a GC start) and compose.
// Over the measured window, from runtime/metrics: GC cycles and the GC's CPU (assists,
// dedicated and fractional workers, idle workers, pauses; /cpu/classes/gc/*, counted at each
// mark termination). One JSON object on stdout.
package main

import (
	"image"
	"image/color"
	"image/draw"
	"labkit.local/golab/measure"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

var pooled = 0 // 1: frame buffers from a sync.Pool (the fix)

const (
	fps, width, height            = 60, 1024, 768
	liveMiB                       = 64
	producers                     = 4
	producerCPU, producerAllocMiB = 0.1, 2.0
	drawsPerS                     = 100
	warmupFrames, measuredFrames  = 30, 120 // 0.5 s unmeasured, then 2 s measured
)

var (
	root any    // the live heap, reachable from a global
	sink uint64 // keeps the display's reads and the producers' work alive
)

type sample struct { // one decoded sensor message: 512 bytes with a pointer
	src  *int
	vals [63]float64
}

type update struct {
	r image.Rectangle
	c *image.Uniform
}

// producer: in each 10 ms slice, busy for producerCPU of it (measure.Burn, no calls), its
// samples allocated on the way (a ring of 256 keeps the latest alive), then its chart updates
// queued (dropped when the queue is full) and a sleep to the slice's end.
func producer(id, chunk int, updates chan<- update, stop *atomic.Bool) {
	const slice = 10 * time.Millisecond
	var ring [256]*sample
	src := new(int)
	perSlice := producerAllocMiB * (1 << 20) * slice.Seconds() / float64(unsafe.Sizeof(sample{}))
	var owed, draws float64
	k := 0
	colour := &image.Uniform{color.RGBA{uint8(40 * id), 120, 200, 160}}
	side := height / 3
	for n := 0; !stop.Load(); n++ {
		begin := time.Now()
		owed += perSlice
		draws += drawsPerS * slice.Seconds()
		for owed >= 1 || time.Since(begin) < time.Duration(producerCPU*float64(slice)) {
			if owed >= 1 {
				ring[k%256] = &sample{src: src}
				k++
				owed--
			}
			sink += measure.Burn(chunk)
		}
		for ; draws >= 1; draws-- {
			x, y := (n*97+id*211)%(width-side), (n*53+id*131)%(height-side)
			select {
			case updates <- update{image.Rect(x, y, x+side, y+side), colour}:
			default:
			}
		}
		time.Sleep(slice - time.Since(begin))
	}
}

// display reads every frame it is sent and, when pooled, puts the buffer back.
func display(frames <-chan *image.RGBA, pool *sync.Pool, done chan<- struct{}) {
	for img := range frames {
		for i := 0; i < len(img.Pix); i += 4099 {
			sink += uint64(img.Pix[i])
		}
		if pooled == 1 {
			pool.Put(img)
		}
	}
	close(done)
}

type frame struct{ start, total, wait, alloc, compose float64 }

// render draws n frames at fps from t0 and returns their parts (ms, since t0).
func render(t0 time.Time, n int, pool *sync.Pool, bg *image.RGBA, updates chan update,
	frames chan<- *image.RGBA, out chan<- []frame) {
	rect, period := bg.Rect, time.Second/fps
	tint := &image.Uniform{color.RGBA{0, 0, 0, 96}}
	ms := func(t time.Time) float64 { return measure.Ms(t.Sub(t0)) }
	all := make([]frame, 0, n)
	prevEnd := t0
	for i := range n {
		woke, begin := measure.SleepUntil(t0.Add(time.Duration(i)*period), prevEnd)
		var img *image.RGBA
		if pooled == 1 {
			img = pool.Get().(*image.RGBA)
		} else {
			img = image.NewRGBA(rect)
		}
		got := time.Now()
		draw.Draw(img, rect, bg, image.Point{}, draw.Src)
		draw.Draw(img, image.Rect(0, 0, width/2, height/2), tint, image.Point{}, draw.Over)
	drain:
		for {
			select {
			case u := <-updates:
				draw.Draw(img, u.r, u.c, image.Point{}, draw.Over)
			default:
				break drain
			}
		}
		frames <- img
		end := time.Now()
		all = append(all, frame{ms(begin), measure.Ms(end.Sub(begin)), measure.Ms(max(woke.Sub(begin), 0)),
			measure.Ms(got.Sub(woke)), measure.Ms(end.Sub(got))})
		prevEnd = end
	}
	out <- all
}

var gcMetrics = []string{
	"/gc/cycles/total:gc-cycles",
	"/cpu/classes/gc/mark/assist:cpu-seconds",
	"/cpu/classes/gc/mark/dedicated:cpu-seconds",
	"/cpu/classes/gc/mark/idle:cpu-seconds",
	"/cpu/classes/gc/pause:cpu-seconds",
	"/cpu/classes/gc/total:cpu-seconds",
}

func readGC() []float64 {
	s := make([]metrics.Sample, len(gcMetrics))
	for i, name := range gcMetrics {
		s[i].Name = name
	}
	metrics.Read(s)
	out := []float64{float64(s[0].Value.Uint64())}
	for _, x := range s[1:] {
		out = append(out, x.Value.Float64())
	}
	return out
}

func main() {
	load0, _ := os.ReadFile("/proc/loadavg")
	old := debug.SetGCPercent(-1) // no cycles while the heap is built: fewer trace events
	root = measure.PointerTree(liveMiB << 20 / 64)
	debug.SetGCPercent(old)
	rect := image.Rect(0, 0, width, height)
	bg := image.NewRGBA(rect)
	for y := range height {
		for x := range width {
			bg.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 0xff})
		}
	}
	pool := &sync.Pool{New: func() any { return image.NewRGBA(rect) }}
	chunk := int(20e3 / measure.NsPerIter(measure.Burn)) // ~20 us of work without calls
	runtime.GC()

	updates := make(chan update, 4096)
	var stop atomic.Bool
	for i := range producers {
		go producer(i+1, chunk, updates, &stop)
	}
	frames, shown := make(chan *image.RGBA, 1), make(chan struct{})
	go display(frames, pool, shown)
	warm, n := warmupFrames, warmupFrames+measuredFrames
	out := make(chan []frame)
	t0 := time.Now()
	go render(t0, n, pool, bg, updates, frames, out)
	// Sleep through the warm-up, read the GC metrics, wait for the frames, read them again.
	time.Sleep(time.Until(t0.Add(time.Duration(warm) * time.Second / fps)))
	windowStart, before := measure.Ms(time.Since(t0)), readGC()
	all := <-out
	windowEnd, after := measure.Ms(time.Since(t0)), readGC()
	stop.Store(true)
	close(frames)
	<-shown

	measured := all[warm:]
	var start, total, wait, alloc, compose []float64
	for _, f := range measured {
		start = append(start, f.start)
		total = append(total, f.total)
		wait = append(wait, f.wait)
		alloc = append(alloc, f.alloc)
		compose = append(compose, f.compose)
	}
	for i := range after {
		after[i] -= before[i]
	}
	load1, _ := os.ReadFile("/proc/loadavg")
	measure.Print(map[string]any{
		"pooled":          pooled,
		"fps":             fps,
		"budget_ms":       1000.0 / fps,
		"warmup_frames":   warm,
		"frame_start_ms":  start,
		"frame_ms":        total,
		"wait_ms":         wait,
		"alloc_ms":        alloc,
		"compose_ms":      compose,
		"window_ms":       []float64{windowStart, windowEnd},
		"gc_cycles":       after[0],
		"gc_assist_ms":    1000 * after[1],
		"gc_worker_ms":    1000 * after[2],
		"gc_idle_ms":      1000 * after[3],
		"gc_pause_ms":     1000 * after[4],
		"gc_total_ms":     1000 * after[5],
		"gomaxprocs":      runtime.GOMAXPROCS(0),
		"load_avg_before": strings.Join(strings.Fields(string(load0))[:3], " "),
		"load_avg_after":  strings.Join(strings.Fields(string(load1))[:3], " "),
	})
}
