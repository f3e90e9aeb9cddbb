// Command gc_render times every frame of a 60 fps render loop that draws into an *image.RGBA
// with image/draw beside a large live heap, and shows when allocating a fresh frame per frame
// makes frames miss their budget and when it does not. Run it with GODEBUG=gctrace=1 for one
// line per GC cycle on stderr; GOGC, GOMEMLIMIT and GOMAXPROCS set the runtime.
//
// The program is chapter 1's dashboard: the live heap is -live_mb MiB of 64-byte pointer nodes
// (measure.PointerTree: every word is scanned each cycle). The render goroutine (main) wakes
// at each frame's due time (start + i/fps), gets a -width x -height *image.RGBA (a fresh
// image.NewRGBA, 3 MiB at 1024x768, or a sync.Pool's), composes it (draw.Src of a background
// image, then -panels translucent chart panels and every chart update the producers queued,
// each a draw.Over fill: real per-pixel work in image/draw) and sends it to a display
// goroutine, which reads it and, when pooled, puts it back. -producers goroutines stand for
// the sensor decoders: each keeps -producer_cpu of a CPU busy (calibrated work without calls)
// in 10 ms slices, allocates -producer_alloc_mb MiB/s of 512-byte samples with pointers
// (kept in a ring of 256, so they die young) and queues -draws_per_s chart updates a second.
//
// A frame's time runs from its due time (or the end of the previous frame, if that was later)
// to the moment it is handed to the display, and is split into wait (due -> the render
// goroutine runs again: timer and scheduling latency, waiting for a P), alloc (getting the
// buffer: mallocgc's assist, gcAssistAlloc in src/runtime/mgcmark.go, zeroing, and a GC start
// if the allocation crosses the trigger) and compose (the drawing, stretched when a P is
// shared). A frame over 1000/fps ms is janky.
//
// After building the heap, a forced runtime.GC() and -warmup_s of unmeasured frames (the
// pacer learns the program), -repeats windows of -seconds each are measured back to back. Per
// window: frame-time p50/p99/max, the share over budget, the parts' medians, GC cycles per
// second, and from runtime/metrics the assist CPU (/cpu/classes/gc/mark/assist:cpu-seconds),
// the dedicated + fractional worker CPU, the idle worker CPU and the GC's share of the
// window's GOMAXPROCS x seconds (/cpu/classes/gc/total, pauses and idle marking included; the
// GC's CPU metrics are updated at each mark termination, cpuStatsAggregate.compute in
// src/runtime/metrics.go, so a window counts the cycles that ended in it). The
// janky frames are listed with their start (s since the program started, the clock gctrace's
// "@" uses, to within its start-up) and parts, so they can be matched with the gctrace lines.
// The load average before and after is read from /proc/loadavg. One JSON object on stdout.
package main

import (
	"flag"
	"image"
	"image/color"
	"image/draw"
	"labkit.local/golab/measure"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

var (
	root any    // the live heap, reachable from a global
	sink uint64 // keeps the display's reads and the producers' work alive
)

// sensor is what a producer decodes from; every sample points back to it.
type sensor struct {
	id       int
	received uint64
}

// sample is one decoded sensor message: 512 bytes with a pointer (scanned by the GC).
type sample struct {
	src  *sensor
	at   int64
	vals [62]float64
}

// update is a chart update a producer queues for the render goroutine to draw.
type update struct {
	r image.Rectangle
	c *image.Uniform
}

// producer keeps cpu of a CPU busy in 10 ms slices, allocating allocMiB MiB/s of samples and
// queueing drawsPerS chart updates a second, until stop is closed.
func producer(id int, cpu, allocMiB, drawsPerS float64, chunk int, bounds image.Rectangle,
	updates chan<- update, stop <-chan struct{}) {
	const slice = 10 * time.Millisecond
	var ring [256]*sample // the last 256 samples stay reachable; older ones are garbage
	k := 0
	src := &sensor{id: id}
	perSlice := allocMiB * (1 << 20) * slice.Seconds() / float64(unsafe.Sizeof(sample{}))
	drawsPerSlice := drawsPerS * slice.Seconds()
	var owedSamples, owedDraws float64
	colour := &image.Uniform{color.RGBA{uint8(40 * id), 120, 200, 160}}
	side := bounds.Dy() / 3
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		begin := time.Now()
		busy := time.Duration(cpu * float64(slice))
		owedSamples += perSlice
		owedDraws += drawsPerSlice
		for {
			if owedSamples >= 1 {
				s := &sample{src: src, at: int64(n)}
				s.vals[0] = float64(k)
				src.received++
				ring[k%256] = s
				k++
				owedSamples--
			}
			if owedSamples < 1 && time.Since(begin) >= busy {
				break
			}
			sink += measure.Burn(chunk)
		}
		for ; owedDraws >= 1; owedDraws-- {
			x := (n*97 + id*211) % (bounds.Dx() - side)
			y := (n*53 + id*131) % (bounds.Dy() - side)
			select {
			case updates <- update{image.Rect(x, y, x+side, y+side), colour}:
			default: // the renderer is behind: drop the update
			}
		}
		if rest := slice - time.Since(begin); rest > 0 && cpu < 1 {
			time.Sleep(rest)
		}
	}
}

// composer draws a frame: the background, the panels, then every queued update.
type composer struct {
	bg      *image.RGBA
	panels  []image.Rectangle
	tint    *image.Uniform
	updates chan update
}

func (c *composer) compose(img *image.RGBA) (draws int) {
	draw.Draw(img, img.Rect, c.bg, image.Point{}, draw.Src)
	for _, r := range c.panels {
		draw.Draw(img, r, c.tint, image.Point{}, draw.Over)
	}
	for {
		select {
		case u := <-c.updates:
			draw.Draw(img, u.r, u.c, image.Point{}, draw.Over)
			draws++
		default:
			return draws
		}
	}
}

// background is a gradient, drawn once: the frame's first pass copies it.
func background(r image.Rectangle) *image.RGBA {
	bg := image.NewRGBA(r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			bg.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 0xff})
		}
	}
	return bg
}

// panelRects tiles n chart panels over the frame (each a quarter of it, wrapping round).
func panelRects(r image.Rectangle, n int) []image.Rectangle {
	w, h := r.Dx()/2, r.Dy()/2
	out := make([]image.Rectangle, n)
	for i := range out {
		x, y := (i%2)*w, ((i/2)%2)*h
		out[i] = image.Rect(x, y, x+w, y+h)
	}
	return out
}

var metricNames = []string{
	"/cpu/classes/gc/mark/assist:cpu-seconds",
	"/cpu/classes/gc/mark/dedicated:cpu-seconds",
	"/cpu/classes/gc/mark/idle:cpu-seconds",
	"/cpu/classes/gc/pause:cpu-seconds",
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
	"/gc/cycles/total:gc-cycles",
	"/gc/heap/live:bytes",
	"/gc/heap/goal:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
}

type reading struct {
	assist, dedicated, idle, pause, gc, total float64
	cycles, live, goal                        uint64
	// nonHeap is what memoryLimitHeapGoal subtracts from GOMEMLIMIT before the heap may use
	// it: mapped, unreleased memory that holds no heap object and is not free heap
	// (mappedReady - heapFree - heapAlloc, src/runtime/mgcpacer.go): stacks, runtime
	// metadata, span fragmentation.
	nonHeap uint64
}

func read() reading {
	s := make([]metrics.Sample, len(metricNames))
	for i, n := range metricNames {
		s[i].Name = n
	}
	metrics.Read(s)
	f := func(i int) float64 { return s[i].Value.Float64() }
	u := func(i int) uint64 { return s[i].Value.Uint64() }
	return reading{f(0), f(1), f(2), f(3), f(4), f(5), u(6), u(7), u(8),
		u(9) - u(10) - u(11) - u(12)}
}

func percentile(xs []float64, q float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[int(q*float64(len(s)-1)+0.5)]
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

type frame struct{ at, total, wait, alloc, compose float64 }

func main() {
	t0 := time.Now()
	liveMB := flag.Float64("live_mb", 64, "live heap of 64-byte pointer nodes, MiB")
	width := flag.Int("width", 1024, "frame width, pixels")
	height := flag.Int("height", 768, "frame height, pixels")
	fps := flag.Float64("fps", 60, "frames per second")
	pooled := flag.Bool("pooled", false, "reuse frame buffers through a sync.Pool")
	panels := flag.Int("panels", 1, "translucent quarter-frame chart panels drawn per frame")
	producers := flag.Int("producers", 0, "producer goroutines beside the renderer")
	producerCPU := flag.Float64("producer_cpu", 0.5, "share of a CPU each producer keeps busy")
	producerAlloc := flag.Float64("producer_alloc_mb", 2, "MiB/s of samples each producer allocates")
	drawsPerS := flag.Float64("draws_per_s", 100, "chart updates each producer queues a second")
	warmup := flag.Float64("warmup_s", 2, "unmeasured frames first, s")
	seconds := flag.Float64("seconds", 10, "length of one measured window, s")
	repeats := flag.Int("repeats", 5, "measured windows")
	flag.Parse()

	load0 := loadavg()
	root = measure.PointerTree(int(*liveMB * (1 << 20) / 64))
	rect := image.Rect(0, 0, *width, *height)
	c := &composer{
		bg:      background(rect),
		panels:  panelRects(rect, *panels),
		tint:    &image.Uniform{color.RGBA{0, 0, 0, 96}},
		updates: make(chan update, 4096),
	}
	pool := sync.Pool{New: func() any { return image.NewRGBA(rect) }}
	chunk := int(20e3 / measure.NsPerIter(measure.Burn)) // ~20 us of work without calls
	forcedAt := time.Since(t0).Seconds()
	runtime.GC()

	stop := make(chan struct{})
	for i := range *producers {
		go producer(i+1, *producerCPU, *producerAlloc, *drawsPerS, chunk, rect, c.updates, stop)
	}
	frames := make(chan *image.RGBA, 1)
	var shown atomic.Uint64
	var displayed sync.WaitGroup
	displayed.Add(1)
	go func() { // the display goroutine: reads the frame, hands the buffer back
		defer displayed.Done()
		for img := range frames {
			s := uint64(0)
			for i := 0; i < len(img.Pix); i += 4099 {
				s += uint64(img.Pix[i])
			}
			shown.Add(s)
			if *pooled {
				pool.Put(img)
			}
		}
	}()

	period := time.Duration(float64(time.Second) / *fps)
	budget := 1000 / *fps
	warmupFrames := int(*warmup * *fps)
	perWindow := int(*seconds * *fps)
	start := time.Now()
	prevEnd := start
	var all []frame
	var readings []reading
	var windowStart []time.Time
	for i := 0; i < warmupFrames+perWindow**repeats; i++ {
		if i >= warmupFrames && (i-warmupFrames)%perWindow == 0 {
			readings = append(readings, read())
			windowStart = append(windowStart, time.Now())
		}
		due := start.Add(time.Duration(i) * period)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		woke := time.Now()
		begin := due
		if prevEnd.After(begin) {
			begin = prevEnd
		}
		var img *image.RGBA
		if *pooled {
			img = pool.Get().(*image.RGBA)
		} else {
			img = image.NewRGBA(rect)
		}
		got := time.Now()
		c.compose(img)
		frames <- img
		end := time.Now()
		if i >= warmupFrames {
			all = append(all, frame{
				at:      begin.Sub(t0).Seconds(),
				total:   measure.Ms(end.Sub(begin)),
				wait:    measure.Ms(max(woke.Sub(begin), 0)),
				alloc:   measure.Ms(got.Sub(woke)),
				compose: measure.Ms(end.Sub(got)),
			})
		}
		prevEnd = end
	}
	readings = append(readings, read())
	windowStart = append(windowStart, time.Now())
	close(stop)
	close(frames)
	displayed.Wait()
	sink += shown.Load()

	var p50, p99, maxMs, jank, gcPerS, assistMsPerS, workerMsPerS, idleMsPerS, gcShare []float64
	var waitP50, allocP50, composeP50, allocP99, waitP99 []float64
	var janky [][]float64
	var cycles []uint64
	var nonHeapMiB []float64
	for w := range *repeats {
		fr := all[w*perWindow : (w+1)*perWindow]
		var total, wait, alloc, compose []float64
		over := 0
		for _, f := range fr {
			total = append(total, f.total)
			wait = append(wait, f.wait)
			alloc = append(alloc, f.alloc)
			compose = append(compose, f.compose)
			if f.total > budget {
				over++
				janky = append(janky, []float64{float64(w), round(f.at, 4), round(f.total, 3),
					round(f.wait, 3), round(f.alloc, 3), round(f.compose, 3)})
			}
		}
		a, b := readings[w], readings[w+1]
		secs := windowStart[w+1].Sub(windowStart[w]).Seconds()
		p50 = append(p50, percentile(total, 0.5))
		p99 = append(p99, percentile(total, 0.99))
		maxMs = append(maxMs, percentile(total, 1))
		jank = append(jank, float64(over)/float64(len(fr)))
		waitP50 = append(waitP50, percentile(wait, 0.5))
		waitP99 = append(waitP99, percentile(wait, 0.99))
		allocP50 = append(allocP50, percentile(alloc, 0.5))
		allocP99 = append(allocP99, percentile(alloc, 0.99))
		composeP50 = append(composeP50, percentile(compose, 0.5))
		cycles = append(cycles, b.cycles-a.cycles)
		nonHeapMiB = append(nonHeapMiB, float64(b.nonHeap)/(1<<20))
		gcPerS = append(gcPerS, float64(b.cycles-a.cycles)/secs)
		assistMsPerS = append(assistMsPerS, 1000*(b.assist-a.assist)/secs)
		workerMsPerS = append(workerMsPerS, 1000*(b.dedicated-a.dedicated)/secs)
		idleMsPerS = append(idleMsPerS, 1000*(b.idle-a.idle)/secs)
		gcShare = append(gcShare, (b.gc-a.gc)/(secs*float64(runtime.GOMAXPROCS(0))))
	}
	last := readings[len(readings)-1]
	out := map[string]any{
		"frame_ms_p50":         measure.Median(p50),
		"frame_ms_p99":         measure.Median(p99),
		"jank_share":           measure.Median(jank),
		"gc_per_s":             measure.Median(gcPerS),
		"assist_ms_per_s":      measure.Median(assistMsPerS),
		"worker_ms_per_s":      measure.Median(workerMsPerS),
		"idle_ms_per_s":        measure.Median(idleMsPerS),
		"gc_cpu_share":         measure.Median(gcShare),
		"wait_ms_p50":          measure.Median(waitP50),
		"alloc_ms_p50":         measure.Median(allocP50),
		"compose_ms_p50":       measure.Median(composeP50),
		"frame_ms_p50_runs":    p50,
		"frame_ms_p99_runs":    p99,
		"frame_ms_max_runs":    maxMs,
		"jank_share_runs":      jank,
		"gc_per_s_runs":        gcPerS,
		"gc_cycles_runs":       cycles,
		"assist_ms_per_s_runs": assistMsPerS,
		"worker_ms_per_s_runs": workerMsPerS,
		"idle_ms_per_s_runs":   idleMsPerS,
		"gc_cpu_share_runs":    gcShare,
		"wait_ms_p50_runs":     waitP50,
		"wait_ms_p99_runs":     waitP99,
		"alloc_ms_p50_runs":    allocP50,
		"alloc_ms_p99_runs":    allocP99,
		"compose_ms_p50_runs":  composeP50,
		"janky_frames":         janky, // [window, start s, total, wait, alloc, compose ms]
		"janky_frames_fields":  []string{"window", "start_s", "total_ms", "wait_ms", "alloc_ms", "compose_ms"},
		"first_cycle_runs":     []uint64{readings[0].cycles + 1},
		"last_cycle_runs":      []uint64{last.cycles},
		"forced_gc_at_s":       forcedAt,
		"heap_live_mb":         float64(last.live) / (1 << 20),
		"heap_goal_mb":         float64(last.goal) / (1 << 20),
		"non_heap_mb":          measure.Median(nonHeapMiB),
		"non_heap_mb_runs":     nonHeapMiB,
		"budget_ms":            budget,
		"frames_per_window":    perWindow,
		"burn_chunk_iters":     chunk,
		"memory_limit_mb":      float64(debug.SetMemoryLimit(-1)) / (1 << 20),
		"gogc":                 os.Getenv("GOGC"),
		"load_avg_before":      load0,
		"load_avg_after":       loadavg(),
		"live_mb":              *liveMB,
		"producers":            *producers,
		"pooled":               *pooled,
	}
	measure.Print(out)
}
