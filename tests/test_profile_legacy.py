"""Legacy formats `go tool pprof` reads, built byte by byte in the tests from their specs.

Go 1.27 cannot write a legacy binary CPU profile (Go 1.9 moved to profile.proto) and nothing here
has gperftools, so the encoder below writes one from the format as gperftools documents it
(docs/cpuprofile-fileformat.html: "The profile file consists of a sequence of machine words";
a header 0, 3, 0, period in microseconds, 0; records "count, depth, pc..."; a trailer 0, 1, 0;
then the text of /proc/self/maps) and as pprof reads it (legacy_profile.go parseCPU: 32- or
64-bit words, either byte order). The gperftools text formats are written the same way from
legacy_profile.go's regular expressions. Real files of every format are checked against `go
tool pprof` by scripts/check_readers_corpus.py on google/pprof's testdata.
"""

from __future__ import annotations

import re
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.profiles import ProfileError, detect_format, load_profile

MAPS = (
    "00400000-00500000 r-xp 00000000 08:01 1234 /usr/bin/server\n"
    "00500000-00600000 rw-p 00100000 08:01 1234 /usr/bin/server\n"
    "7f0000000000-7f0000100000 r-xp 00000000 08:01 99 /lib/libc-2.15.so\n"
)


def legacy_cpu(records, period_us=10_000, word="<Q", maps=MAPS, java=False, trailer=True) -> bytes:
    """A legacy CPU profile: records are (count, [pc, ... leaf first])."""
    words = [0, 3, 1 if java else 0, period_us, 0]
    for count, pcs in records:
        words += [count, len(pcs), *pcs]
    if trailer:
        words += [0, 1, 0]
    order, size = word[0], word[1]
    return b"".join(struct.pack(order + size, w) for w in words) + maps.encode()


MAIN, HELPER, LIBC, SIGNAL = 0x401000, 0x402000, 0x7F0000001000, 0x403000


@pytest.mark.parametrize("word", ["<Q", ">Q", "<I", ">I"])
def test_legacy_cpu_words_of_any_size_and_byte_order(word):
    """pprof tries 32-bit LE, 32-bit BE, 64-bit LE, 64-bit BE, and takes the first header that
    fits; period in microseconds becomes nanoseconds; each record's count is its samples."""
    pcs = [LIBC, HELPER + 1, MAIN + 1] if "Q" in word else [0x1000, 0x2001, 0x3001]
    maps = MAPS if "Q" in word else "00001000-00004000 r-xp 00000000 08:01 1 /bin/small\n"
    data = legacy_cpu([(3, pcs), (2, pcs[1:])], word=word, maps=maps)
    p = load_profile(data)
    assert detect_format(data) == p.format == "legacy-cpu"
    assert p.sample_types == [("samples", "count"), ("cpu", "nanoseconds")]
    assert (p.period, p.period_type) == (10_000_000, ("cpu", "nanoseconds"))
    assert p.total("samples") == 5
    assert p.total("cpu") == 5 * 10_000_000


def test_legacy_cpu_frames_are_named_after_their_mapping():
    """Without the binaries pprof names each address after the file of its mapping
    (``[server]``, ``[libc-2.15.so]``); a non-executable mapping (rw-p) holds no code; an
    address in no mapping is ``<unknown>``."""
    data = legacy_cpu(
        [
            (3, [LIBC, HELPER + 1, MAIN + 1]),
            (2, [HELPER, MAIN + 1]),
            (1, [0x550000, MAIN + 1]),  # in the rw-p data mapping: not code
            (4, [0x9000_0000, MAIN + 1]),
        ]
    )
    p = load_profile(data)
    assert p.top(None, "samples") == [
        ("<unknown>", 5, 5),
        ("[libc-2.15.so]", 3, 3),
        ("[server]", 2, 10),
    ]


def test_legacy_cpu_drops_the_signal_handler_frame_and_a_doubled_leaf():
    """cpuProfile: a second frame shared by all samples but one in 32 is the signal
    handler's and is removed; cleanupDuplicateLocations: a leaf recorded twice (the second one
    byte back) is kept once. With the handler frame in [libc] and every other frame in
    [server], libc's cum would be the whole profile if it stayed."""
    records = [(1, [MAIN + 0x10 * i, LIBC, HELPER + 0x10 * i + 1]) for i in range(1, 40)]
    records.append((5, [HELPER + 0x801, HELPER + 0x801, MAIN + 1]))
    p = load_profile(legacy_cpu(records))
    assert "[libc-2.15.so]" not in {name for name, _, _ in p.top(None)}
    assert p.stacks("samples") == {("[server]", "[server]"): 39 + 5}


def test_the_main_binary_is_the_first_mapping_that_is_no_library():
    """massageMappings moves the first mapping that is not a ``.so`` (nor ``[vdso]``) to the
    front, and remapMappingIDs moves that one's start back to 0x400000 when its offset says it
    begins there; so an address below its first page is the binary's, not the library's that
    the work-around for split mappings would otherwise give it to."""
    maps = (
        "00402000-00403000 r-xp 00002000 08:01 9 /lib/libfirst.so\n"
        "00401000-00402000 r-xp 00001000 08:01 1 /usr/bin/server\n"
    )
    p = load_profile(legacy_cpu([(1, [0x400800])], maps=maps))
    assert p.stacks() == {("[server]",): 10_000_000}


def test_legacy_cpu_without_trailer_and_truncated():
    """The trailer is optional (pprof stops at the end); a record that claims more frames than
    the file holds is not a legacy CPU profile, and pprof refuses it too."""
    no_trailer = legacy_cpu([(2, [MAIN])], trailer=False, maps="")
    assert load_profile(no_trailer).total("samples") == 2
    cut = legacy_cpu([(2, [MAIN, HELPER + 1, MAIN + 1])], maps="")[:-40]
    with pytest.raises(ProfileError, match="legacy binary CPU profile.*runs past the end"):
        load_profile(cut, name="cpu.prof")


def test_java_cpu_profile_names_its_locations():
    """Header word 3 = 1: Java's CPU profile, whose text after the samples names each address
    (legacy_java_profile.go parseJavaLocations); addresses are not moved back."""
    maps = (
        "0x0000a com.example.Main.run (Main.java:12)\n0x0000b VM\n"
        "0x0000c com.example.Util.f (/opt/lib/util.jar)\n"
    )
    data = legacy_cpu([(2, [0xA, 0xB]), (1, [0xB]), (4, [0xC, 0xD])], java=True, maps=maps)
    p = load_profile(data)
    assert p.format == "java-cpu"
    assert p.stacks("samples") == {
        ("VM", "com.example.Main.run"): 2,
        ("VM",): 1,
        ("<unknown>", "com.example.Util.f"): 4,  # 0xd is not in the location section
    }


# -- gperftools text formats --------------------------------------------------------------------

HEAPZ = """\
heap profile:    3:   300000 [     3:   300000] @ heapz_v2/524288
     1:   100000 [     1:   100000] @ 0x401005 0x401101
     2:   200000 [     2:   200000] @ 0x7f0000001005 0x401101
--- Memory map: ---
	source=/usr
  00400000-00500000: $source/bin/server
  7f0000000000-7f0000100000: /lib/libc-2.15.so
"""


def test_heapz_v2_is_unsampled_and_named_per_mapping():
    """heapz_v2/524288: each record scaled by 1 / (1 - exp(-mean size / 524288)), as pprof's
    scaleHeapSample; ``source=/usr`` defines ``$source`` for the map lines after it."""
    import math

    p = load_profile(HEAPZ)
    assert p.format == "legacy-heap"
    assert p.sample_types == [("objects", "count"), ("space", "bytes")]
    scale1 = 1 / (1 - math.exp(-100000 / 524288))
    scale2 = 1 / (1 - math.exp(-100000 / 524288))  # mean size of the second record
    assert p.total("space") == int(100000 * scale1) + int(200000 * scale2)
    assert p.top(None, "objects") == [
        ("[libc-2.15.so]", int(2 * scale2), int(2 * scale2)),
        ("[server]", int(1 * scale1), int(1 * scale1) + int(2 * scale2)),
    ]


def test_contentionz_scales_by_period_and_clock():
    """parseContention: delay = cycles * sampling period / (cycles/second / 1e9) ns, and
    contentions = count * sampling period; ``ms since reset`` is the duration."""
    text = (
        "--- contentionz 1 ---\n"
        "cycles/second = 2000000000\n"
        "sampling period = 10\n"
        "ms since reset = 5000\n"
        "  4000 3 @ 0x401005 0x401101\n"
    )
    p = load_profile(text)
    assert p.format == "legacy-contention"
    assert (p.total("contentions"), p.total("delay")) == (30, 4000 * 10 // 2)
    assert p.duration_ns == 5_000_000_000


def test_threadz_same_as_previous_thread_adds_a_thread():
    """parseThread: each ``--- Thread`` block is a sample of 1; ``[same as previous thread]``
    adds one to the sample before it; the ``creator:`` PCs belong to the stack too."""
    text = (
        "--- threadz 1 ---\n\n"
        "--- Thread 1 (name: main/1) stack: ---\n"
        "  PC: 0x401000: main\n"
        "--- Thread 2 (name: w/2) stack: ---\n"
        "  PC: 0x7f0000001000: nanosleep\n"
        "      creator: 0x401101\n"
        "--- Thread 3 (name: w/3) stack: ---\n"
        "  [same as previous thread]\n"
        "--- Memory map: ---\n" + MAPS
    )
    p = load_profile(text)
    assert p.format == "legacy-threadz"
    assert p.stacks() == {("[server]",): 1, ("[server]", "[libc-2.15.so]"): 2}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("heap profile: 1: 2 [3: 4] @ heap/2\n1: 2 [3: 4] @ 0x1\nnonsense\n", "line 3 of this"),
        ("heap profile: 1: 2 [3: 4] @ heapz/2\n", "kind 'heapz'"),
        ("--- mutex:\ncycles/second=1\nbogus=1\n", "attribute 'bogus'"),
        ("--- mutex:\ncycles/second=1\n12 x @ 0x1\n", "expected 'CYCLES COUNT @ 0x...'"),
        ("goroutine profile: total 1\n1 @\n", "expected 'COUNT @ 0x...'"),
    ],
)
def test_a_damaged_legacy_text_gets_one_clear_error(text, problem):
    """Where pprof refuses a file, labkit refuses it too, naming the format it recognised and
    the line; it does not talk about protobuf."""
    with pytest.raises(ProfileError, match=problem) as info:
        load_profile(text, name="damaged.txt")
    assert "go tool pprof refuses it too" in str(info.value)
    assert "wire" not in str(info.value)


def test_java_heap_needs_a_non_zero_count():
    """google/pprof's own fuzz finding: a Java heap sample with count 0 is refused."""
    with pytest.raises(ProfileError, match="second value must be non-zero"):
        load_profile(b"--- heapz 1 ---\n0 0 @ 0\n")


def test_a_number_too_long_for_any_profile_is_refused_at_once():
    """pprof's regular expressions run on Go's RE2, in linear time; the same expressions here
    backtrack, cubically in a run of digits ('--- mutex:' with 800 digits took 1.2 s, 3,200
    would take over a minute). No number in a profile has 200 digits, so such a text is
    refused before it is parsed."""
    for text in (
        "--- mutex:\ncycles/second=1\n" + "1" * 100_000 + " 1 @ 0x1\n",
        "heap profile: 1: 2 [3: 4] @ heap/2\n" + "1" * 100_000 + "\n",
    ):
        with pytest.raises(ProfileError, match="a run of 200\\+ digits"):
            load_profile(text)


JAVA_TEXT = st.text(alphabet="a _(:)1-=\tx", max_size=16).map(str.strip)


@settings(max_examples=400, deadline=None)
@given(JAVA_TEXT)
def test_java_patterns_read_as_pprofs_regular_expressions(text):
    """The hand-written Java location reader and the anchored attribute pattern find what
    legacy_java_profile.go's javaLocationFileLineRx / javaLocationPathRx and attributeRx find
    (leftmost-first, which Python's engine shares with RE2 on these patterns)."""
    from labkit.profiles.legacy_java import _ATTRIBUTE, _function

    file_line = re.match(r"^(.*)\s+\((.+):(-?[0-9]+)\)$", text, re.ASCII)
    path = re.match(r"^(.*)\s+\((.*)\)$", text, re.ASCII)
    stub = "STUB" if "generated stub/JIT" in text else text
    expected = file_line.group(1) if file_line else path.group(1) if path else stub
    assert _function(text) == expected
    attribute = re.search(r"([\w ]+)=([\w ]+)", text, re.ASCII)
    found = _ATTRIBUTE.search(text)
    assert (found and found.groups()) == (attribute and attribute.groups())
