"""Where one widget interaction spends its time: the kernel's messages and the browser's work.

``browser_timings.py`` says how long an interaction takes; this says why. It opens one notebook
as ``browser_timings.py`` does (JupyterLab as ``python3 course.py lab`` starts it, Debian's
headless Chromium), repeats one interaction and prints, from Chromium's DevTools protocol:

* **the kernel's messages**, as the page received them and as the kernel made them (``Network.webSocketFrameReceived``): for
  the first repetition each message's arrival after the input's own message left, its size, its
  type and the traits it updates; for every repetition the first and last arrival and the count.
  A redraw that waits for the kernel shows here (the scheduler lab's preset sent 29-40 messages
  over ~100 ms; benchmarks/README.md, "Third pass");
* **the renderer's main thread** (a trace of its top-level tasks): milliseconds per repetition in
  each kind of task: frames (animation callbacks, where bqplot's d3 transitions draw, then style,
  layout and paint), IPC messages (the kernel's WebSocket data, and the widgets' JavaScript that
  handles it), input, timers. A redraw that waits for the browser shows here (the incident lab's
  fix toggle: ~115 ms of frames and ~90 of messages; benchmarks/README.md, "Sixth pass");
* with ``--js``, **the script's own functions** (V8's sampling profiler, ``Profiler.start``):
  milliseconds of self time per repetition in the busiest functions, with their source file. Which
  part of bqplot, d3 or the widget manager a redraw waits for shows here.

    python3 benchmarks/browser_profile.py chapters/05-case-study.ipynb .labkit-incident "DB connections"
    python3 benchmarks/browser_profile.py chapters/02b-preemption-queues-and-timers.ipynb \\
        .labkit-schedlab "a preset chosen" --repeat 5 --fresh

The interaction is named as ``browser_timings.py`` names it: a listed interaction of that
notebook, or a control found in the widget (its label, e.g. "GOGC (%)"). Nothing here is timed
by the test suite.
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime
import json
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import browser_timings as bt  # noqa: E402
from jlab import NotebookPage, find_chromium  # noqa: E402

#: How many of the script's functions ``--js`` lists.
JS_TOP = 25


def message_summary(payload: str) -> tuple[str, str, float | None]:
    """A kernel message's type, what it carries and when the kernel made it, from a WebSocket
    frame's payload: ("comm_msg", "update x y labels fill_colors", 1764900000.123) or ("status",
    "busy", ...). The frame is the jupyter v1 protocol's (jupyter_server's serialize_msg_to_ws_v1:
    a count of offsets, the offsets, then the channel, header, parent header, metadata, content
    and buffers), base64-encoded by DevTools. The time is the header's ``date`` (the kernel's
    clock when its Session made the message, in seconds), None if it has none."""
    try:
        raw = base64.b64decode(payload, validate=True)
        n = int.from_bytes(raw[:8], "little")
        offsets = [int.from_bytes(raw[8 + 8 * i : 16 + 8 * i], "little") for i in range(n)]
        header = json.loads(raw[offsets[1] : offsets[2]])
        content = json.loads(raw[offsets[4] : offsets[5]])
    except (ValueError, IndexError):
        return "?", "", None
    kind = header.get("msg_type", "?")
    try:
        made = datetime.datetime.fromisoformat(header["date"]).timestamp()
    except (KeyError, TypeError, ValueError):
        made = None
    if kind == "status":
        return kind, content.get("execution_state", ""), made
    data = content.get("data", {}) if isinstance(content.get("data"), dict) else {}
    state = data.get("state", {})
    return kind, " ".join([data.get("method", ""), *state]).strip(), made


def _interaction(nb: NotebookPage, notebook: str, widget: str, name: str) -> bt.Interaction:
    listed = [
        i for i in bt.INTERACTIONS
        if isinstance(i, bt.Interaction) and i.notebook == notebook and name in i.name
    ]  # fmt: skip
    found = listed or [
        i for i in bt._found(nb, bt.Controls(notebook, widget, widget)) if name in i.name
    ]
    if not found:
        raise SystemExit(f"no interaction {name!r} in {notebook} ({widget})")
    return found[0]


def profile(
    notebook: str, widget: str, name: str, repeat: int, js: bool = False
) -> tuple[list, list, dict, dict]:
    """Run the notebook and ``repeat`` timed repetitions (after a warm-up) of the interaction:
    returns the timings (first, all), each repetition's received frames, the main thread's
    milliseconds per task name over all repetitions and, with ``js``, the script's self
    milliseconds per function (else empty)."""
    with bt.lab_and_browser("labkit-browser-profile-") as (server, browser):
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.set_default_timeout(60_000)
        nb = NotebookPage(page, server, notebook).open().run_all()
        interaction = _interaction(nb, notebook, widget, name)
        print(f"{notebook}: {interaction.name}")
        frames: list = []
        cdp = page.context.new_cdp_session(page)
        for event, way in (("Network.webSocketFrameReceived", "in"),
                           ("Network.webSocketFrameSent", "out")):  # fmt: skip
            cdp.on(event, lambda e, way=way: frames.append(
                (way, e["timestamp"], e["response"]["payloadData"])))  # fmt: skip
        cdp.send("Network.enable")
        root = page.locator(interaction.widget).first
        root.locator(".bqplot svg.svg-figure").first.scroll_into_view_if_needed()
        timings, per_rep = [], []
        for i in range(repeat + 1):
            root.evaluate(bt.WATCH, [-1, 15_000, list(interaction.clock)])
            if i == 1:
                browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
                if js:
                    cdp.send("Profiler.enable")
                    cdp.send("Profiler.setSamplingInterval", {"interval": 100})  # us
                    cdp.send("Profiler.start")
            frames.clear()
            interaction.act(nb, i)
            first, last, _each = page.evaluate(bt.FINISH)
            if i:
                timings.append((first, last))
                per_rep.append(list(frames))
        functions = _self_ms(cdp.send("Profiler.stop")["profile"]) if js else {}
        trace = json.loads(browser.stop_tracing())
    return timings, per_rep, _main_thread_ms(trace["traceEvents"]), functions


def _self_ms(cpu_profile: dict) -> dict[str, float]:
    """Self milliseconds per function in a V8 CPU profile (``Profiler.stop``): each sample is
    credited to the node it was taken in, for the time to the next sample; a function is named
    with its script's file name and line, as DevTools names it."""
    nodes = {n["id"]: n["callFrame"] for n in cpu_profile["nodes"]}
    out: dict[str, float] = collections.defaultdict(float)
    for node, dt_us in zip(
        cpu_profile["samples"], cpu_profile["timeDeltas"][1:] + [0], strict=True
    ):
        frame = nodes[node]
        where = frame["url"].rsplit("/", 1)[-1].split("?")[0]
        name = frame["functionName"] or "(anonymous)"
        out[f"{name} {where}:{frame['lineNumber'] + 1}" if where else name] += dt_us / 1000
    return dict(out)


#: What a top-level task of the renderer's main thread did, by the first of these events found
#: in it: a frame (requestAnimationFrame callbacks, where bqplot's d3 transitions draw; then
#: style, layout and paint), an IPC message (the kernel's WebSocket data arrives this way, and the
#: widgets' JavaScript handles it in the same task), an input event, a timer.
TASK_KINDS = (
    ("ProxyMain::BeginMainFrame", "frames: animation callbacks (d3), style, layout, paint"),
    ("Receive mojo message", "IPC messages: the kernel's WebSocket data and its handlers"),
    ("EventDispatch", "input events"),
    ("TimerFire", "timers"),
)
#: The trace's categories: top-level tasks and IPC, Blink's and the compositor's phases.
TRACE_CATEGORIES = ["toplevel", "devtools.timeline", "blink", "cc", "mojom",
                    "renderer.scheduler", "disabled-by-default-devtools.timeline"]  # fmt: skip


def _main_thread_ms(events: list[dict]) -> dict[str, float]:
    """Milliseconds of the renderer's main thread (the thread with the most script and layout
    events) by kind of top-level task (``TASK_KINDS``; the rest is "other tasks"), each task
    counted once with all it ran."""
    busy = collections.Counter(
        (e["pid"], e["tid"]) for e in events if e.get("name") in ("FunctionCall", "Layout")
    )
    if not busy:
        return {}
    main = busy.most_common(1)[0][0]
    on_main = sorted(
        (e for e in events if (e["pid"], e["tid"]) == main and e.get("ph") == "X" and "dur" in e),
        key=lambda e: (e["ts"], -e["dur"]),
    )
    out: dict[str, float] = collections.defaultdict(float)
    i = 0
    while i < len(on_main):
        top, end = on_main[i], on_main[i]["ts"] + on_main[i]["dur"]
        inside = set()
        i += 1
        while i < len(on_main) and on_main[i]["ts"] < end:
            inside.add(on_main[i]["name"])
            i += 1
        kind = next((k for marker, k in TASK_KINDS if marker in inside), "other tasks")
        out[kind] += top["dur"] / 1000
    return dict(out)


def report(
    timings: list, per_rep: list, tasks: dict[str, float], functions: dict[str, float]
) -> None:
    first = per_rep[0]
    sent = [f for f in first if f[0] == "out"]
    t0 = sent[0][1] if sent else (first[0][1] if first else 0.0)
    print("\nthe kernel's messages, first repetition: arrival (ms after the input's message left),")
    print("made (ms after the kernel made its first message, by the kernel's clock), size, type:")
    made0 = None
    for way, t, payload in first:
        if way == "in":
            kind, what, made = message_summary(payload)
            made0 = made if made0 is None else made0
            at = (
                f"{1000 * (made - made0):7.1f}"
                if made is not None and made0 is not None
                else "    ?  "
            )
            print(f"  {1000 * (t - t0):7.1f} ms {at} ms {len(payload):8} B  {kind:14} {what}")
    print("\nevery repetition: first / all figures changed (ms), messages received, last arrival:")
    for (f, a), frames in zip(timings, per_rep, strict=True):
        out = [fr for fr in frames if fr[0] == "out"]
        got = [fr for fr in frames if fr[0] == "in"]
        start = out[0][1] if out else (got[0][1] if got else 0.0)
        last = 1000 * (got[-1][1] - start) if got else float("nan")
        print(f"  {f:5.0f} / {a:5.0f}   {len(got):3} messages, the last at {last:6.1f} ms")
    print(f"  median: {statistics.median(t[0] for t in timings):.0f} / "
          f"{statistics.median(t[1] for t in timings):.0f} ms")  # fmt: skip
    n = len(timings)
    print(f"\nthe renderer's main thread, ms per repetition (incl. {bt.__name__}'s quiet wait):")
    for key, ms in sorted(tasks.items(), key=lambda kv: -kv[1]):
        print(f"  {ms / n:7.1f}  {key}")
    if functions:
        print("\nthe script's busiest functions, self ms per repetition (V8's profiler):")
        for key, ms in sorted(functions.items(), key=lambda kv: -kv[1])[:JS_TOP]:
            print(f"  {ms / n:7.1f}  {key}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebook", help="e.g. chapters/05-case-study.ipynb")
    parser.add_argument("widget", help="CSS selector of the widget, e.g. .labkit-incident")
    parser.add_argument("interaction", help="a listed interaction's or a control's name")
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions")
    parser.add_argument("--fresh", action="store_true", help="sliders move one way (new settings)")
    parser.add_argument("--js", action="store_true", help="the script's busiest functions too")
    opts = parser.parse_args(argv)
    if find_chromium() is None:
        print("no Chromium found: install Debian's chromium (apt-get install -y chromium)")
        return 2
    bt.FRESH["on"] = opts.fresh
    print(f"load average {os.getloadavg()[0]:.2f}")
    report(*profile(opts.notebook, opts.widget, opts.interaction, opts.repeat, opts.js))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
