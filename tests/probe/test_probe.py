"""End to end: `wsw probe` against real servers on 127.0.0.1, with their verdicts.

    test_probe.py WSW_BINARY SECTION

SECTION is one of:
  own      our server (wsw serve --deflate): 0 FAILED and 0 NON-STRICT on the whole
           catalogue (the long deflate round-trip cases left to `own-deflate`), the
           reports read back (index.json counted as Autobahn's report does, every case
           report, JUnit XML parsed and counted), exit statuses 0, 1 and 2, and the time
           of the 1-10 catalogue
  python   python3-websockets 10.4: its verdicts, deviations included
  node     Node's ws (tests/interop's npm packages): its verdicts, deviations included
  broken   a server that breaks one rule at a time is FAILED exactly on the cases that
           test that rule
  spec     an Autobahn fuzzingclient spec with two servers
  client   wsw serve --mode probe (Autobahn's fuzzingserver URLs) with our own client
           (wsw connect --echo) for every case: 0 FAILED and 0 NON-STRICT

Run with Debian's /usr/bin/python3. A missing peer is a failure. Every process is
bounded by `timeout`.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree

HERE = os.path.dirname(os.path.abspath(__file__))
WSW = sys.argv[1]
SECTION = sys.argv[2]
NODE = shutil.which("node") or shutil.which("nodejs")
FAILURES = []

# Autobahn's report marks these close verdicts as failed (FAILED BY CLIENT is not).
FAILING_CLOSE = {"FAILED", "WRONG CODE", "UNCLEAN"}


def check(condition, message):
    if not condition:
        FAILURES.append(message)
        print(f"FAIL: {message}", flush=True)
    return condition


def stop(process):
    # SIGTERM: `timeout` passes it on to the server (SIGKILL would leave the server).
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def start(command, port_file, what):
    """Starts a server that writes its port into port_file; returns (process, port)."""
    process = subprocess.Popen(["timeout", "300"] + command, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if os.path.exists(port_file) and open(port_file).read().strip():
            return process, int(open(port_file).read())
        if process.poll() is not None:
            break
        time.sleep(0.05)
    output = process.stdout.read() if process.poll() is not None else ""
    stop(process)
    print(f"FAIL: {what} did not start: {output}", flush=True)
    sys.exit(1)


def start_wsw_server(*extra):
    process = subprocess.Popen(["timeout", "300", WSW, "serve", "--port", "0", *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = process.stdout.readline()
    if "listening on ws://" not in line:
        stop(process)
        print(f"FAIL: wsw serve did not start: {line}", flush=True)
        sys.exit(1)
    return process, int(line.rsplit(":", 1)[1].strip("/\n"))


def probe(url, *options, timeout=240):
    """Runs wsw probe; returns (exit status, stdout, stderr, seconds)."""
    started = time.monotonic()
    done = subprocess.run(["timeout", str(timeout), WSW, "probe", *([url] if url else []),
                           *options], capture_output=True, text=True)
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


def read_index(directory):
    with open(os.path.join(directory, "index.json")) as f:
        return json.load(f)


def autobahn_counts(index):
    """What Autobahn's report shows per agent: the cases of each behaviour."""
    counts = {}
    for agent, cases in index.items():
        per = counts.setdefault(agent, {})
        for case in cases.values():
            per[case["behavior"]] = per.get(case["behavior"], 0) + 1
    return counts


def verdicts(directory, agent):
    return {case_id: (case["behavior"], case["behaviorClose"])
            for case_id, case in read_index(directory)[agent].items()}


def failed_ids(directory, agent):
    return {case_id for case_id, (behavior, close) in verdicts(directory, agent).items()
            if behavior == "FAILED" or close in FAILING_CLOSE}


def case_report(directory, agent, case_id):
    entry = read_index(directory)[agent][case_id]
    with open(os.path.join(directory, entry["reportfile"])) as f:
        return json.load(f)


def check_reports(directory, agent, expected_cases):
    """index.json, every case report, junit.xml and index.html agree."""
    index = read_index(directory)
    check(list(index) == [agent], f"index.json names the agent {agent}: {list(index)}")
    cases = index.get(agent, {})
    check(len(cases) == expected_cases, f"index.json has {len(cases)} cases, {expected_cases} run")
    for case_id, entry in cases.items():
        check(set(entry) >= {"behavior", "behaviorClose", "duration", "remoteCloseCode",
                             "reportfile"}, f"{case_id}: index fields {sorted(entry)}")
        path = os.path.join(directory, entry["reportfile"])
        if not check(os.path.exists(path), f"{case_id}: report {path} missing"):
            continue
        with open(path) as f:
            report = json.load(f)
        for field in ("id", "description", "expectation", "behavior", "behaviorClose", "result",
                      "resultClose", "droppedByMe", "wasClean", "remoteCloseCode",
                      "localCloseCode", "txFrameStats", "rxFrameStats", "frames", "received",
                      "expected", "expectedClose", "duration"):
            check(field in report, f"{case_id}: report lacks {field}")
        check(report.get("id") == case_id and report.get("behavior") == entry["behavior"],
              f"{case_id}: report and index disagree")
        check(os.path.exists(path[:-5] + ".jsonl"), f"{case_id}: frame log missing")
    # JUnit: one testcase per case, failures as the verdicts say.
    tree = ElementTree.parse(os.path.join(directory, "junit.xml"))
    testcases = tree.getroot().findall("./testsuite/testcase")
    failures = tree.getroot().findall("./testsuite/testcase/failure")
    expected_failures = sum(1 for e in cases.values()
                            if e["behavior"] == "FAILED" or e["behaviorClose"] in FAILING_CLOSE)
    check(len(testcases) == len(cases), f"junit.xml: {len(testcases)} testcases")
    check(len(failures) == expected_failures,
          f"junit.xml: {len(failures)} failures, {expected_failures} expected")
    check(tree.getroot().get("tests") == str(len(cases)), "junit.xml: tests attribute")
    html = open(os.path.join(directory, "index.html"), encoding="utf-8").read()
    check(html.count("<tr data-verdict=") == len(cases), "index.html: one row per case")
    check("http://" not in html and "https://" not in html, "index.html: no external resource")


def summary_counts(stdout):
    """The behaviour counts `wsw probe` prints on stdout."""
    for line in stdout.splitlines():
        if line.strip().startswith("behavior:"):
            parts = line.split(":", 1)[1].split(",")
            return {p.strip().rsplit(" ", 1)[0]: int(p.strip().rsplit(" ", 1)[1]) for p in parts}
    return {}


def section_own():
    server, port = start_wsw_server("--deflate", "-q")
    url = f"ws://127.0.0.1:{port}/"
    try:
        with tempfile.TemporaryDirectory() as directory:
            # The deflate round trips of 4 KiB and more take seconds each: a
            # representative part of 12.* and 13.* stays.
            # Waits of 500 ms (Autobahn's are 1 s): a loaded machine still fails 6.4.*
            # within the wait, so that fail-fast is judged, not the scheduler.
            status, out, err, seconds = probe(
                url, "--exclude", "12.1.5,12.1.6,12.1.11,12.1.12,13.*.5", "--wait-scale", "0.5",
                "--report", directory)
            print(out, flush=True)
            check(status == 0, f"own server: exit status {status}: {err[-2000:]}")
            counts = autobahn_counts(read_index(directory))["server"]
            print(f"own server, Autobahn's counting: {counts} in {seconds:.1f} s", flush=True)
            check(counts.get("FAILED", 0) == 0 and counts.get("NON-STRICT", 0) == 0,
                  f"own server: {counts}")
            check(counts == summary_counts(out), f"stdout counts {summary_counts(out)}")
            closes = {c for _, c in verdicts(directory, "server").values()}
            check(closes <= {"OK", "INFORMATIONAL"}, f"own server close verdicts {closes}")
            total = len(read_index(directory)["server"])
            check_reports(directory, "server", total)
            # Deflate was negotiated, not skipped.
            check(verdicts(directory, "server")["13.3.1"][0] == "OK", "13.3.1 (window bits 8)")
            check(verdicts(directory, "server")["D.1.1"][0] == "OK", "D.1.1 RSV1 on continuation")
            report = case_report(directory, "server", "6.4.1")
            check(report["received"] == [["timeout", "A"]], f"6.4.1 fail-fast: {report['received']}")
            check(report["remoteCloseCode"] == 1007, "6.4.1 closed with 1007")
            report = case_report(directory, "server", "1.1.8")
            check(report["txOctets"] > 65536 and any(f.get("length") == 65536
                                                    for f in report["frames"]),
                  "1.1.8 frames logged with their length")
        # The 1-10 catalogue, timed.
        status, out, err, seconds = probe(url, "--cases", "1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*",
                                          "-q")
        print(f"TIME: catalogue 1-10 against wsw serve: {seconds:.2f} s", flush=True)
        check(status == 0, f"1-10: exit status {status}")
        check(seconds < 30, f"1-10 took {seconds:.1f} s")
    finally:
        stop(server)
    # Exit statuses: nothing listening, a usage error.
    status, out, err, _ = probe(f"ws://127.0.0.1:{port}/", "--cases", "1.1.1")
    check(status == 2, f"nothing listening: exit status {status} ({err.strip()})")
    status, _, err, _ = probe(None)
    check(status == 1, f"no URL: exit status {status}")
    status, _, err, _ = probe("ws://127.0.0.1:1/", "--cases", "99.*")
    check(status == 1 and "no case" in err, f"no matching case: {status} {err.strip()}")
    status, out, _, _ = probe("ws://127.0.0.1:1/", "--cases", "6.4.*", "--list")
    check(status == 0 and [l.split("\t")[0] for l in out.splitlines()] ==
          ["6.4.1", "6.4.2", "6.4.3", "6.4.4"], f"--list: {out}")


def run_peer(command, port_file, what, options, expected_failed, checks):
    process, port = start(command, port_file, what)
    try:
        with tempfile.TemporaryDirectory() as directory:
            status, out, err, seconds = probe(f"ws://127.0.0.1:{port}/", *options,
                                              "--agent", what, "--report", directory)
            print(out, flush=True)
            print(f"TIME: {what}: {seconds:.2f} s", flush=True)
            failed = failed_ids(directory, what)
            check(status == (3 if failed else 0), f"{what}: exit status {status}")
            check(failed <= expected_failed[0] and failed >= expected_failed[1],
                  f"{what}: FAILED on {sorted(failed)}, expected {sorted(expected_failed[1])} "
                  f"(at most {sorted(expected_failed[0])})")
            checks(directory)
            check_reports(directory, what, len(read_index(directory)[what]))
    finally:
        stop(process)


def section_python():
    try:
        subprocess.run(["/usr/bin/python3", "-c", "import websockets"], check=True,
                       capture_output=True, timeout=30)
    except subprocess.CalledProcessError:
        print("FAIL: peer missing: python3-websockets for /usr/bin/python3", flush=True)
        sys.exit(1)
    with tempfile.TemporaryDirectory() as work:
        def checks(directory):
            v = verdicts(directory, "python-websockets")
            # Deviations python3-websockets 10.4 shows, as the probe must find them:
            # RFC 6455 §4.2.1 wants a Host field and 426 with Sec-WebSocket-Version.
            check(v["H.1.6"][0] == "FAILED", f"H.1.6 (no Host accepted): {v['H.1.6']}")
            check(v["H.2.1"][0] == "FAILED" and v["H.2.2"][0] == "FAILED",
                  f"H.2.* (400 without Sec-WebSocket-Version): {v['H.2.1']} {v['H.2.2']}")
            # It often fails the connection before echoing the message that came first
            # (NON-STRICT); which one wins is up to its scheduling.
            check(v["3.2"][0] in ("OK", "NON-STRICT") and v["4.1.3"][0] in ("OK", "NON-STRICT"),
                  f"3.2, 4.1.3: {v['3.2']} {v['4.1.3']}")
            # A message followed at once by a close is sometimes not echoed (the
            # handler's send comes after the close was processed): a race of the peer.
            report = case_report(directory, "python-websockets", "7.1.1")
            check(v["7.1.1"][0] == "OK" or (report["received"] == [] and report["wasClean"]),
                  f"7.1.1: {v['7.1.1']} {report['received']}")
            check(v["D.1.1"][0] == "OK", f"D.1.1 with deflate: {v['D.1.1']}")
            check(all(b == "OK" for i, (b, _) in v.items() if i.startswith(("1.", "2.", "9."))),
                  "1.*, 2.*, 9.* all OK")

        run_peer(["/usr/bin/python3", os.path.join(HERE, "echo_python.py"),
                  os.path.join(work, "port")], os.path.join(work, "port"), "python-websockets",
                 ["--exclude", "12.*,13.*"],
                 ({"H.1.6", "H.2.1", "H.2.2", "7.1.1"}, {"H.1.6", "H.2.1", "H.2.2"}), checks)


def section_node():
    if not NODE or not os.path.isdir(os.path.join(HERE, "..", "interop", "node_modules", "ws")):
        print("FAIL: peer missing: node and tests/interop/node_modules/ws (npm ci there)",
              flush=True)
        sys.exit(1)
    with tempfile.TemporaryDirectory() as work:
        def checks(directory):
            v = verdicts(directory, "node-ws")
            # ws 8 limits the fragments of a message (maxFragments): 4 MiB in 64-byte
            # fragments is refused with 1008.
            for case_id in ("9.3.1", "9.4.1"):
                report = case_report(directory, "node-ws", case_id)
                check(v[case_id][0] == "FAILED" and report["remoteCloseCode"] == 1008,
                      f"{case_id}: {v[case_id]} {report['remoteCloseCode']}")
            check(v["H.1.6"][0] == "FAILED", f"H.1.6 (no Host accepted): {v['H.1.6']}")
            check(v["H.1.10"][0] == "FAILED", f"H.1.10 (HTTP/1.0 accepted): {v['H.1.10']}")
            check(v["H.2.1"][0] == "INFORMATIONAL", f"H.2.1 (speaks version 8): {v['H.2.1']}")
            check(v["H.2.2"][0] == "NON-STRICT", f"H.2.2 (400, not 426): {v['H.2.2']}")
            # Without permessage-deflate (ws's server default) the deflate cases are
            # UNIMPLEMENTED, as in Autobahn.
            check(v["D.1.1"][0] == "UNIMPLEMENTED", f"D.1.1: {v['D.1.1']}")
            check(all(b == "OK" for i, (b, _) in v.items() if i.startswith(("1.", "2.", "3."))),
                  "1.*, 2.*, 3.* all OK")

        run_peer([NODE, os.path.join(HERE, "echo_node.mjs"), os.path.join(work, "port")],
                 os.path.join(work, "port"), "node-ws", ["--exclude", "12.*,13.*"],
                 ({"9.3.1", "9.4.1", "H.1.6", "H.1.10"},) * 2, checks)


def section_broken():
    listed = subprocess.run([WSW, "probe", "ws://127.0.0.1:1/", "--list"], capture_output=True,
                            text=True, timeout=30).stdout
    descriptions = dict(line.split("\t", 1) for line in listed.splitlines())
    subset = "1.1.*,2.*,3.*,4.1.*,5.1,5.3,5.9,6.2.*,6.3.*,6.4.*,6.5.*,6.6.*,6.12.*,6.20.*,7.1.*,7.5.1,7.7.*,7.9.*,T.2.*"
    selected = subprocess.run([WSW, "probe", "ws://127.0.0.1:1/", "--list", "--cases", subset],
                              capture_output=True, text=True, timeout=30).stdout
    ids = [line.split("\t")[0] for line in selected.splitlines()]
    invalid_utf8 = {i for i in ids if "not valid UTF-8" in descriptions[i] or
                    i.startswith(("6.3.", "6.4."))} | {"7.5.1"}
    rsv = {i for i in ids if i.startswith("3.")} | {"T.2.2"}
    expectations = [
        ("--accept-rsv", subset, rsv),
        ("--no-utf8-check", subset, invalid_utf8),
        # Each case waits --close-timeout for a TCP close that never comes: fewer cases.
        ("--never-close", "1.1.1,2.1,3.1,5.3,6.3.1,7.1.1,7.7.1,T.2.*", {"T.2.1", "T.2.2"}),
        ("", subset, set()),
    ]
    with tempfile.TemporaryDirectory() as work:
        for flag, cases, expected in expectations:
            port_file = os.path.join(work, f"port{flag}")
            process, port = start(["/usr/bin/python3", os.path.join(HERE, "broken_server.py"),
                                   port_file] + ([flag] if flag else []), port_file,
                                  f"broken_server.py {flag}")
            try:
                directory = os.path.join(work, f"report{flag}")
                status, out, err, seconds = probe(f"ws://127.0.0.1:{port}/", "--cases", cases,
                                                  "--close-timeout", "200", "--report",
                                                  directory, "-q")
                failed = failed_ids(directory, "server")
                print(f"broken server {flag or '(no flag)'}: FAILED on {sorted(failed)} "
                      f"({seconds:.1f} s)", flush=True)
                check(failed == expected, f"{flag or 'conforming'}: FAILED on {sorted(failed)}, "
                      f"expected exactly {sorted(expected)}")
                check(status == (3 if expected else 0), f"{flag}: exit status {status}")
                if flag == "--never-close":
                    v = verdicts(directory, "server")
                    check(v["1.1.1"] == ("OK", "FAILED BY CLIENT"),
                          f"never-close 1.1.1: {v['1.1.1']}")
            finally:
                stop(process)


def section_spec():
    server, port = start_wsw_server("-q")
    try:
        with tempfile.TemporaryDirectory() as work:
            spec = {
                "outdir": "./reports/servers",
                "servers": [
                    {"agent": "Workbench A", "url": f"ws://127.0.0.1:{port}", "options": {"version": 18}},
                    {"agent": "workbench-b", "url": f"ws://127.0.0.1:{port}/"},
                ],
                "cases": ["1.1.*", "2.*"],
                "exclude-cases": ["2.11"],
                "exclude-agent-cases": {"workbench-b": ["2.1*"]},
            }
            path = os.path.join(work, "fuzzingclient.json")
            with open(path, "w") as f:
                json.dump(spec, f)
            status, out, err, _ = probe(None, "--spec", path)
            print(out, flush=True)
            check(status == 0, f"spec: exit status {status} {err[-500:]}")
            directory = os.path.join(work, "reports", "servers")
            index = read_index(directory)
            check(sorted(index) == ["Workbench A", "workbench-b"], f"agents {sorted(index)}")
            a = set(index.get("Workbench A", {}))
            b = set(index.get("workbench-b", {}))
            check(len(a) == 8 + 10 and "2.11" not in a and "2.10" in a, f"agent A cases {sorted(a)}")
            check(b == a - {"2.1", "2.10"}, f"agent B cases {sorted(b)}")
            check(os.path.exists(os.path.join(directory, "workbench_a_case_1_1_1.json")),
                  "Autobahn's report file name for 'Workbench A'")
            counts = autobahn_counts(index)
            check(counts == {"Workbench A": {"OK": len(a)}, "workbench-b": {"OK": len(b)}},
                  f"spec counts {counts}")
            junit = ElementTree.parse(os.path.join(directory, "junit.xml")).getroot()
            check(len(junit.findall("testsuite")) == 2 and junit.get("tests") == str(len(a) + len(b)),
                  "junit.xml: a testsuite per agent")
            # --report replaces the spec's outdir; --cases narrows it.
            other = os.path.join(work, "other")
            status, _, _, _ = probe(None, "--spec", path, "--report", other, "--cases", "1.1.1")
            check(status == 0 and sorted(read_index(other)["workbench-b"]) == ["1.1.1"],
                  "--report and --cases with --spec")
            # Both a spec and a URL: a usage error.
            status, _, _, _ = probe(f"ws://127.0.0.1:{port}/", "--spec", path)
            check(status == 1, f"spec and URL: exit status {status}")
    finally:
        stop(server)


def connect(url, *options):
    done = subprocess.run(["timeout", "60", WSW, "connect", *options, url],
                          stdin=subprocess.DEVNULL, capture_output=True)
    return done.returncode, done.stdout.decode("utf-8", "replace")


def section_client():
    import concurrent.futures
    with tempfile.TemporaryDirectory() as work:
        reports = os.path.join(work, "reports")
        process = subprocess.Popen(["timeout", "300", WSW, "serve", "--mode", "probe", "--port",
                                    "0", "--report", reports], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
        line = process.stdout.readline()
        if "listening on ws://" not in line:
            stop(process)
            print(f"FAIL: wsw serve --mode probe did not start: {line}", flush=True)
            sys.exit(1)
        base = line.split("listening on ", 1)[1].strip().rstrip("/")
        try:
            status, out = connect(f"{base}/getCaseCount")
            replies = [l[2:] for l in out.splitlines() if l.startswith("< ")]
            check(status == 0 and replies and replies[0].isdigit(), f"getCaseCount: {out}")
            count = int(replies[0]) if replies and replies[0].isdigit() else 0
            check(count == 301, f"301 cases (Autobahn's 1-10), got {count}")
            status, out = connect(f"{base}/getCaseInfo?case=74")
            info = json.loads([l[2:] for l in out.splitlines() if l.startswith("< ")][0])
            check(info.get("id") == "6.4.1", f"case 74 is 6.4.1: {info}")

            def run_case(number):
                return number, connect(f"{base}/runCase?case={number}&agent=wsw%20connect",
                                       "--echo", "-q")[0]

            started = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                exits = dict(pool.map(run_case, range(1, count + 1)))
            print(f"TIME: our client through {count} cases: {time.monotonic() - started:.1f} s",
                  flush=True)
            status, out = connect(f"{base}/getCaseStatus?case=1&agent=wsw%20connect")
            check('"behavior":"OK"' in out, f"getCaseStatus: {out}")
            status, _ = connect(f"{base}/updateReports?agent=wsw%20connect")
            check(status == 0, "updateReports")
            index = read_index(reports)
            cases = index.get("wsw connect", {})
            counts = autobahn_counts(index).get("wsw connect", {})
            print(f"our client, Autobahn's counting: {counts}", flush=True)
            check(len(cases) == count, f"{len(cases)} cases reported")
            check(counts.get("FAILED", 0) == 0 and counts.get("NON-STRICT", 0) == 0,
                  f"our client: {counts}")
            closes = {c["behaviorClose"] for c in cases.values()}
            check(closes <= {"OK", "INFORMATIONAL"}, f"our client's closes {closes}")
            # wsw connect exits 4 where it failed the connection on purpose (6.3.1).
            check(exits.get(1) == 0, f"case 1: exit status {exits.get(1)}")
            check_reports(reports, "wsw connect", count)
        finally:
            stop(process)


SECTIONS = {"client": section_client, "own": section_own, "python": section_python, "node": section_node,
            "broken": section_broken, "spec": section_spec}
SECTIONS[SECTION]()
if FAILURES:
    print(f"{len(FAILURES)} check(s) failed", flush=True)
    sys.exit(1)
print("all checks passed", flush=True)
