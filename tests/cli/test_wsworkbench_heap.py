#!/usr/bin/python3
"""wsworkbench starts itself once more with glibc's heap tunables, so that the log's
payloads live on transparent huge pages; GLIBC_TUNABLES set by the user (even empty)
is left alone.

Usage: test_wsworkbench_heap.py PATH/TO/wsworkbench
"""

import os
import select
import subprocess
import sys
import tempfile
import time
import unittest

WORKBENCH = None
START_SECONDS = 20


def thp_mode():
    """The system's transparent huge page mode: always, madvise or never."""
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            text = f.read()
    except OSError:
        return "never"
    return text[text.index("[") + 1 : text.index("]")]


def heap_mappings(pid):
    """(VmFlags words, THPeligible) of each [heap] mapping of `pid`."""
    mappings = []
    current = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            first = line.split()[0] if line.strip() else ""
            if "-" in first and not first.endswith(":"):
                current = {"heap": line.rstrip().endswith("[heap]")}
                if current["heap"]:
                    mappings.append(current)
            elif current is not None and current["heap"]:
                if line.startswith("VmFlags:"):
                    current["flags"] = line.split()[1:]
                elif line.startswith("THPeligible:"):
                    current["eligible"] = line.split()[1] == "1"
    return mappings


class HeapTunablesTest(unittest.TestCase):
    def start(self, **env_extra):
        """The window, running a relay, once it says it listens; its process."""
        home = tempfile.mkdtemp(prefix="wsworkbench-heap-")
        env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "WSW_HEAP_TUNED")}
        env.update(QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=home, XDG_DATA_HOME=home,
                   XDG_CACHE_HOME=home, XDG_RUNTIME_DIR=home)
        env.update(env_extra)
        proc = subprocess.Popen([WORKBENCH, "--start-relay", "127.0.0.1:0=ws://127.0.0.1:9/"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        self.addCleanup(self.stop, proc)
        output = b""
        deadline = time.monotonic() + START_SECONDS
        while b"listening on" not in output:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([proc.stdout], [], [], max(left, 0))
            chunk = os.read(proc.stdout.fileno(), 4096) if ready else b""
            if not chunk:
                self.fail(f"the window did not start its relay: {output.decode(errors='replace')}")
            output += chunk
        return proc

    @staticmethod
    def stop(proc):
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()

    def test_heap_on_huge_pages(self):
        proc = self.start()
        mode = thp_mode()
        heaps = heap_mappings(proc.pid)
        self.assertTrue(heaps, "no [heap] mapping")
        if mode == "madvise":
            # glibc asked for huge pages on the heap it grew (MADV_HUGEPAGE: "hg").
            self.assertTrue(any("hg" in h.get("flags", []) for h in heaps), heaps)
        if mode != "never":
            self.assertTrue(any(h.get("eligible") for h in heaps), heaps)
        else:
            print("transparent huge pages are off here: only the start was checked")

    def test_tunables_of_the_user_are_kept(self):
        # Empty: glibc's defaults, and no second start.
        proc = self.start(GLIBC_TUNABLES="")
        with open(f"/proc/{proc.pid}/environ", "rb") as f:
            environment = f.read().split(b"\0")
        self.assertIn(b"GLIBC_TUNABLES=", environment)
        self.assertNotIn(b"WSW_HEAP_TUNED=1", environment)
        if thp_mode() == "madvise":
            self.assertFalse(any("hg" in h.get("flags", []) for h in heap_mappings(proc.pid)))


if __name__ == "__main__":
    WORKBENCH = sys.argv.pop(1)
    unittest.main(verbosity=2)
