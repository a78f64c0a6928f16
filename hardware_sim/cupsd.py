"""A private cupsd with ippeveprinter queues: real CUPS and real IPP for ``--sim=system`` and tests.

Why a private one: the kiosk's printer driver must be proven against the real cupsd, its
filters and the IPP backend, without touching the machine's own CUPS (``/etc/cups``).
Everything lives under one base directory that user ``lp`` can traverse (cupsd runs its
filters as ``lp``; pytest's 0700 ``tmp_path`` would make them fail and stop the queue).

Each simulated printer is an ``ippeveprinter`` whose print command (``-c``) is our shell
script: it "prints" the job into ``out/``, and reads control files that a test flips
through :class:`SimPrinter` (media empty, jam on the n-th job, ribbon low/out, job failure,
slow job, paper out after k pages). It reports faults the way a real IPP printer does, as
``STATE:`` reasons and ``ATTR: marker-levels``, which cupsd's IPP backend relays.

Requires root plus cups-daemon, cups-ipp-utils (ippeveprinter), cups-filters, dbus-daemon,
poppler-utils; :func:`missing` says what is absent so tests can skip with a reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from printer_profiles import PrinterProfile

CUPSD_CONF = """\
LogLevel {loglevel}
MaxLogSize 0
Listen {base}/cups.sock
Browsing No
BrowseLocalProtocols none
WebInterface No
DefaultAuthType None
DefaultEncryption Never
PreserveJobHistory Yes
PreserveJobFiles No
ErrorPolicy abort-job
JobRetryInterval 1
<Location />
  Order allow,deny
  Allow from all
</Location>
<Policy default>
  JobPrivateAccess all
  JobPrivateValues none
  SubscriptionPrivateAccess all
  SubscriptionPrivateValues none
  <Limit All>
    Order allow,deny
    Allow from all
  </Limit>
</Policy>
"""
CUPS_FILES_CONF = """\
ServerRoot {base}/conf
RequestRoot {base}/spool
TempDir {base}/spool/tmp
CacheDir {base}/cache
StateDir {base}/state
DataDir /usr/share/cups
ServerBin /usr/lib/cups
DocumentRoot /usr/share/cups/doc-root
AccessLog {base}/log/access_log
ErrorLog {base}/log/error_log
PageLog {base}/log/page_log
Printcap
FileDevice Yes
User lp
Group lp
SystemGroup root
"""
CUPS_PDF_CONF = """\
Out {base}/pdfout
AnonDirName {base}/pdfout
Spool {base}/pdfspool
UserUMask 0000
Grp lp
Label 2
"""

# The ippeveprinter print command. Control files in $SIM_CTRL (see SimPrinter):
#   state    a reason held while set, e.g. "media-empty": every job fails with it
#   markers  "NAME LEVEL", e.g. "Ribbon 7": reported as ATTR marker-names/-levels
#   delay    seconds each job takes          fail   any content: every job fails
#   at-N     one-shot fault for job number N: "REASON [PAGES]" (pages printed before it)
#   timing   realistic timing from the profile (SimPrinter.timing): "card WARM_UP ENCODE SIDE STANDBY" or
#            "document FIRST_PAGE PER_PAGE", seconds already scaled; the job takes that for its pages
# Each job that comes out whole leaves job-N.times: when the printer started and ended it (wall clock).
# A job named adm-sim-sense is not counted or printed: it makes the printer report the
# control files now, as a real printer's sensors would without waiting for a job.
PRINT_COMMAND = r"""#!/bin/sh
ctl="$SIM_CTRL"; out="$SIM_OUT"
# a failing job lasts a moment, as on a real printer: cupsd's IPP backend can miss a job that
# fails within milliseconds and report it completed
fail() { echo "ERROR: $1" >&2; sleep 0.3; exit 1; }
echo "STATE: -media-empty,media-jam,marker-supply-low,marker-supply-empty,cover-open,other" >&2
level=100; [ -f "$ctl/markers" ] && read -r name level < "$ctl/markers"
[ -f "$ctl/markers" ] && echo "ATTR: marker-names=$name marker-types=ink-ribbon marker-colors=#000000 \
marker-levels=$level marker-low-levels=10 marker-high-levels=100" >&2
[ "$level" -le 10 ] && [ "$level" -gt 0 ] && echo "STATE: +marker-supply-low" >&2
[ "$level" -le 0 ] && echo "STATE: +marker-supply-empty" >&2
[ -f "$ctl/state" ] && echo "STATE: +$(cat "$ctl/state")" >&2
if [ "$IPP_JOB_NAME" = adm-sim-sense ]; then date +%s.%N > "$ctl/sensed"; exit 0; fi
n=$(( $(cat "$ctl/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$ctl/count"
[ -f "$ctl/delay" ] && sleep "$(cat "$ctl/delay")"
start=$(date +%s.%N)
if [ -f "$ctl/timing" ]; then
  pages=$(pdfinfo "$1" 2>/dev/null | sed -n 's/^Pages: *//p')
  last=$(cat "$ctl/last-end" 2>/dev/null || echo 0)
  seconds=$(awk -v p="${pages:-1}" -v now="$start" -v last="$last" '{
    if ($1 == "card") { warm = (last > 0 && now - last <= $5); print (warm ? 0 : $2) + $3 + $4 * (p < 1 ? 1 : p) }
    else { print $2 + $3 * (p > 1 ? p - 1 : 0) } }' "$ctl/timing")
  sleep "$seconds"
fi
[ "$level" -le 0 ] && fail "ribbon out"
[ -f "$ctl/state" ] && fail "printer not ready"
if [ -f "$ctl/at-$n" ]; then
  read -r reason done_pages < "$ctl/at-$n"
  rm -f "$ctl/at-$n"
  done_pages=${done_pages:-0}
  [ "$done_pages" -gt 0 ] && pdfseparate -l "$done_pages" "$1" "$out/job$n-page%d.pdf" 2>/dev/null
  echo "$done_pages" > "$out/job$n.partial"
  echo "STATE: +$reason" >&2; fail "$reason on job $n"
fi
[ -f "$ctl/fail" ] && { echo "STATE: +other" >&2; fail "simulated failure"; }
cp "$1" "$out/job$n.${1##*.}"
pdfinfo "$1" 2>/dev/null | sed -n 's/^Pages: *//p' > "$out/job$n.pages"
env | grep '^IPP_' | sort > "$out/job$n.env"
end=$(date +%s.%N)
echo "$start $end" > "$out/job$n.times"
echo "$end" > "$ctl/last-end"
exit 0
"""
SENSE_TEST = """{
  NAME "sense"
  OPERATION Print-Job
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR name requesting-user-name sim
  ATTR name job-name adm-sim-sense
  ATTR mimeMediaType document-format application/pdf
  FILE $filename
  STATUS successful-ok
}
"""
# The smallest valid one-page PDF, sent with each sense job.
TINY_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 153 243]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def missing() -> list[str]:
    """What this machine lacks to run the sandbox (empty when it can)."""
    out = [tool for tool in ("cupsd", "ippeveprinter", "dbus-daemon", "pdfinfo", "pdfseparate", "lpadmin")
           if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists()]
    if os.geteuid() != 0:
        out.append("root (cupsd drops filters to user lp)")
    try:
        import cups  # noqa: F401
    except ImportError:
        out.append("pycups")
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(pred: Callable[[], object], timeout_s: float, what: str) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        with contextlib.suppress(Exception):
            if pred():
                return time.monotonic() - t0
        time.sleep(0.02)
    raise TimeoutError(f"{what} did not come up within {timeout_s:.0f} s")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _points(mm: float) -> str:
    return f"{mm * 72 / 25.4:.2f}"


def card_ppd(profile: PrinterProfile) -> str:
    """A PPD for ippeveprinter ``-P``: the profile's card media, exact in points, duplex when it is.

    PWG names its sizes portrait (``om_card_54x86mm`` is 54 x 86 mm); cupsd derives the IPP
    ``media-supported`` of the everywhere queue from it.
    """
    media = profile.media
    w_mm, h_mm = sorted((profile.width_mm, profile.height_mm))
    if media.startswith(("om_", "iso_", "na_")):  # self-describing PWG name: its own dimensions
        dims = media.rsplit("_", 1)[-1].removesuffix("mm").removesuffix("in")
        with contextlib.suppress(ValueError):
            w_mm, h_mm = (float(v) for v in dims.split("x"))
    w, h = _points(w_mm), _points(h_mm)
    duplex = ""
    if profile.duplex:
        duplex = ('*OpenUI *Duplex/2-Sided: PickOne\n*DefaultDuplex: None\n'
                  '*Duplex None/Off: "<</Duplex false>>setpagedevice"\n'
                  '*Duplex DuplexNoTumble/Long Edge: "<</Duplex true/Tumble false>>setpagedevice"\n'
                  '*Duplex DuplexTumble/Short Edge: "<</Duplex true/Tumble true>>setpagedevice"\n*CloseUI: *Duplex\n')
    return f"""*PPD-Adobe: "4.3"
*FormatVersion: "4.3"
*FileVersion: "1.0"
*LanguageVersion: English
*LanguageEncoding: ISOLatin1
*PCFileName: "ADMCARD.PPD"
*Manufacturer: "ADM Simulator"
*Product: "(Card Printer)"
*ModelName: "ADM simulated {profile.model}"
*ShortNickName: "ADM card printer"
*NickName: "ADM simulated card printer"
*PSVersion: "(3010.000) 0"
*LanguageLevel: "3"
*ColorDevice: True
*DefaultColorSpace: RGB
*FileSystem: False
*Throughput: "1"
*LandscapeOrientation: Plus90
*TTRasterizer: Type42
*cupsVersion: 2.4
*cupsFilter2: "application/pdf application/pdf 0 -"
*OpenUI *PageSize/Media Size: PickOne
*OrderDependency: 10 AnySetup *PageSize
*DefaultPageSize: {media}
*PageSize {media}/CR80 card: "<</PageSize[{w} {h}]/ImagingBBox null>>setpagedevice"
*CloseUI: *PageSize
*OpenUI *PageRegion/Media Size: PickOne
*OrderDependency: 10 AnySetup *PageRegion
*DefaultPageRegion: {media}
*PageRegion {media}/CR80 card: "<</PageSize[{w} {h}]/ImagingBBox null>>setpagedevice"
*CloseUI: *PageRegion
*DefaultImageableArea: {media}
*ImageableArea {media}/CR80 card: "0 0 {w} {h}"
*DefaultPaperDimension: {media}
*PaperDimension {media}/CR80 card: "{w} {h}"
*OpenUI *cupsPrintQuality/Print Quality: PickOne
*DefaultcupsPrintQuality: Normal
*cupsPrintQuality Normal/Normal: ""
*cupsPrintQuality High/High: ""
*CloseUI: *cupsPrintQuality
{duplex}*DefaultResolution: {profile.dpi}dpi
*OpenUI *Resolution/Resolution: PickOne
*Resolution {profile.dpi}dpi/{profile.dpi} DPI: "<</HWResolution[{profile.dpi} {profile.dpi}]>>setpagedevice"
*CloseUI: *Resolution
"""


@dataclass
class SimPrinter:
    """One ippeveprinter behind a CUPS queue, with fault switches a test can flip.

    Faults take effect at the next job (a real printer also only finds out when it picks
    media); :meth:`count` says how many jobs it has seen, :meth:`printed` what came out.
    """

    queue: str
    port: int
    dir: Path
    proc: subprocess.Popen[bytes] | None = None
    restart: Callable[[], None] | None = None

    @property
    def ctrl(self) -> Path:
        return self.dir / "ctrl"

    @property
    def out(self) -> Path:
        return self.dir / "out"

    @property
    def uri(self) -> str:
        return f"ipp://localhost:{self.port}/ipp/print"

    def _set(self, key: str, value: object | None, sense: bool = True) -> None:
        path = self.ctrl / key
        if value is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(f"{value}\n")
        if sense:
            self.sense()

    def sense(self, timeout_s: float = 10) -> None:
        """Makes the printer report its control files now (a job it neither counts nor prints)."""
        stamp = self.ctrl / "sensed"
        before = stamp.stat().st_mtime_ns if stamp.exists() else 0
        subprocess.run(["ipptool", "-q", "-f", str(self.dir / "sense.pdf"), "-d", "filename=" + str(self.dir / "sense.pdf"),
                        self.uri, str(self.dir / "sense.test")], check=True, timeout=timeout_s,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(lambda: stamp.exists() and stamp.stat().st_mtime_ns != before, timeout_s, f"{self.queue} sensing")
        time.sleep(0.05)  # ippeveprinter applies the command's STATE/ATTR lines as it reads them

    # -- fault switches ------------------------------------------------------------------

    def media_empty(self, on: bool = True) -> None:
        """No cards / no paper: every job fails with ``media-empty`` until switched off."""
        self._set("state", "media-empty" if on else None)

    def jam(self, on: bool = True) -> None:
        """A jam that stays until cleared: every job fails with ``media-jam``."""
        self._set("state", "media-jam" if on else None)

    def fault_on(self, nth: int = 1, reason: str = "media-jam", after_pages: int = 0) -> int:
        """One-shot: the ``nth`` job from now fails with ``reason`` after ``after_pages`` pages.

        Returns the absolute job number, e.g. ``fault_on(2)`` = "jam on the 2nd card".
        """
        n = self.count() + nth
        self._set(f"at-{n}", f"{reason} {after_pages}", sense=False)
        return n

    def ribbon(self, level: int | None, name: str = "Ribbon") -> None:
        """Marker level in percent reported with each job (<= 10: low, 0: out and the job fails)."""
        self._set("markers", None if level is None else f"{name} {int(level)}")

    def fail(self, on: bool = True) -> None:
        """Every job fails with an unspecific error (exit status 1)."""
        self._set("fail", "1" if on else None)

    def slow(self, seconds: float | None) -> None:
        """Each job takes ``seconds`` (a timeout test, or a cancel in flight)."""
        self._set("delay", None if not seconds else f"{seconds:g}", sense=False)

    def timing(self, profile: PrinterProfile | None, scale: float = 1.0) -> None:
        """Realistic timing: each job takes what ``profile``'s ``[timing]`` says for its pages, times ``scale``;
        the printer starts cold. None: jobs take no time again."""
        (self.ctrl / "last-end").unlink(missing_ok=True)
        if profile is None:
            self._set("timing", None, sense=False)
            return
        t = profile.timing
        if profile.kind == "card":
            line = f"card {t.warm_up_s * scale:g} {t.encode_s * scale:g} {t.side_s * scale:g} {t.standby_after_s * scale:g}"
        else:
            per_page = 60.0 / t.pages_per_minute if t.pages_per_minute else 0.0
            line = f"document {t.first_page_s * scale:g} {per_page * scale:g}"
        self._set("timing", line, sense=False)

    def times(self) -> list[tuple[float, float]]:
        """When the printer started and ended each job that came out whole, oldest first (its own clock)."""
        out = []
        for path in sorted(self.out.glob("job*.times"), key=lambda p: int(p.name[3:].split(".")[0])):
            with contextlib.suppress(OSError, ValueError):
                start, end = path.read_text().split()
                out.append((float(start), float(end)))
        return out

    def clear(self) -> None:
        """Every switch off, as staff clearing the printer: ippeveprinter restarts, the job count stays.

        A restart because ippeveprinter holds its jobs while it reports a fault, so a
        sense job could not tell it the fault is gone.
        """
        for path in self.ctrl.iterdir():
            if path.name not in ("count", "sensed", "timing", "last-end"):
                path.unlink()
        if self.restart is not None:
            self.restart()

    # -- what happened ---------------------------------------------------------------------

    def count(self) -> int:
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int((self.ctrl / "count").read_text())
        return 0

    def printed(self) -> list[Path]:
        """Job files that came out whole, oldest first."""
        return sorted((p for p in self.out.glob("job*.*") if p.suffix not in (".env", ".pages", ".partial", ".times")
                       and "-page" not in p.name), key=lambda p: int(p.name[3:].split(".")[0]))

    def pages(self, job: int) -> int:
        for suffix in (".pages", ".partial"):
            path = self.out / f"job{job}{suffix}"
            if path.exists():
                return int(path.read_text())
        return 0


class CupsSandbox:
    """cupsd + dbus-daemon + ippeveprinters in a private directory, all in their own process groups."""

    def __init__(self, base: str | Path | None = None, loglevel: str = "warn") -> None:
        self._own_base = base is None
        self.base = Path(base) if base else Path(tempfile.mkdtemp(prefix="adm-cups-", dir="/tmp"))
        self.loglevel = loglevel
        self.sock = str(self.base / "cups.sock")
        self.dbus_addr = f"unix:path={self.base}/dbus.sock"
        self.printers: dict[str, SimPrinter] = {}
        self._procs: list[subprocess.Popen[bytes]] = []
        self.ready_s = 0.0

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, cups_pdf: bool = False) -> CupsSandbox:
        """Starts dbus-daemon and cupsd; ``cups_pdf`` binds a private cups-pdf.conf (own mount namespace)."""
        lacking = missing()
        if lacking:
            raise RuntimeError("cannot start a private cupsd: missing " + ", ".join(lacking))
        b = self.base
        for d in ("conf/ppd", "conf/ssl", "spool/tmp", "cache", "state", "log", "pdfout", "pdfspool", "sim"):
            (b / d).mkdir(parents=True, exist_ok=True)
        (b / "conf/cupsd.conf").write_text(CUPSD_CONF.format(base=b, loglevel=self.loglevel))
        (b / "conf/cups-files.conf").write_text(CUPS_FILES_CONF.format(base=b))
        (b / "cups-pdf.conf").write_text(CUPS_PDF_CONF.format(base=b))
        self.command = b / "print-command.sh"
        self.command.write_text(PRINT_COMMAND)
        self.command.chmod(0o755)
        self._make_reachable()
        subprocess.run(["chown", "-R", "root:lp", str(b)], check=True)
        for d in ("spool/tmp", "pdfout", "pdfspool"):
            (b / d).chmod(0o1777)
        try:
            self._spawn(["dbus-daemon", "--session", "--nofork", f"--address={self.dbus_addr}"], "dbus")
            _wait(lambda: (b / "dbus.sock").exists(), 5, "dbus-daemon")
            cupsd = ["cupsd", "-f", "-c", f"{b}/conf/cupsd.conf", "-s", f"{b}/conf/cups-files.conf"]
            if cups_pdf:  # cups-pdf reads the hard-coded /etc/cups/cups-pdf.conf: bind ours, privately
                cupsd = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                         f"mount --bind {b}/cups-pdf.conf /etc/cups/cups-pdf.conf && exec " + " ".join(cupsd)]
            self._spawn(cupsd, "cupsd")
            self.ready_s = _wait(lambda: self.connection().getPrinters() is not None, 15, "cupsd")
        except BaseException:
            self.stop()
            raise
        return self

    def _make_reachable(self) -> None:
        """Every directory from / to the base must be searchable by ``lp``."""
        for parent in (self.base, *self.base.parents):
            mode = parent.stat().st_mode
            if not mode & 0o001:
                if parent == self.base or self._own_base or str(parent).startswith(str(self.base)):
                    parent.chmod(mode | 0o755)
                else:
                    raise RuntimeError(f"{parent} is not searchable by user lp (mode {oct(mode & 0o777)}): "
                                       "use a base directory under a 0755 path, e.g. /tmp")

    def _spawn(self, argv: list[str], tag: str, env: dict[str, str] | None = None,
               log: Path | None = None) -> subprocess.Popen[bytes]:
        with open(log or self.base / "log" / f"{tag}.out", "ab") as fh:
            proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        self._procs.append(proc)
        return proc

    def stop(self) -> None:
        """Stops every process it started (by process group, SIGTERM then SIGKILL)."""
        for proc in reversed(self._procs):
            _terminate(proc)
        self._procs.clear()
        if self._own_base:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> CupsSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return any(p.poll() is None for p in self._procs)

    def kill_cupsd(self) -> None:
        """Stops cupsd only (a lost cupsd: the driver must say ``offline``)."""
        for proc in self._procs:
            if proc.args and "cupsd" in " ".join(map(str, proc.args)):
                _terminate(proc)

    # -- clients ---------------------------------------------------------------------------

    def connection(self) -> Any:
        import cups

        cups.setServer(self.sock)  # process-global in libcups
        return cups.Connection()

    def env(self) -> dict[str, str]:
        """Environment for lp/lpstat subprocesses aimed at this cupsd."""
        return dict(os.environ, CUPS_SERVER=self.sock)

    # -- queues ----------------------------------------------------------------------------

    def add_sim_printer(self, queue: str, profile: PrinterProfile, port: int | None = None) -> SimPrinter:
        """An ippeveprinter for ``profile`` (card: CR80 PPD; document: A4 IPP Everywhere) and its queue."""
        d = self.base / "sim" / queue
        sim = SimPrinter(queue, port or free_port(), d)
        for sub in ("spool", "out", "ctrl"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        (d / "sense.test").write_text(SENSE_TEST)
        (d / "sense.pdf").write_bytes(TINY_PDF)
        if profile.kind == "card":
            ppd = d / "card.ppd"
            ppd.write_text(card_ppd(profile), encoding="latin-1")
            media_args = ["-P", str(ppd)]  # the model comes from the PPD (-P refuses -m and -f)
        else:
            media_args = ["-m", profile.model, "-f", "application/pdf,image/pwg-raster,image/urf"]
            media_args += ["-2"] if profile.duplex else []
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.dbus_addr, SIM_OUT=str(d / "out"), SIM_CTRL=str(d / "ctrl"))
        argv = ["ippeveprinter", "-p", str(sim.port), "-n", "localhost", "-r", "off", "-k", "-d", str(d / "spool"),
                "-c", str(self.command), *media_args, queue]

        def start() -> None:
            if sim.proc is not None:
                _terminate(sim.proc)
                self._procs.remove(sim.proc)
                _wait(lambda: not _port_open(sim.port), 5, f"ippeveprinter {queue} to stop")
            sim.proc = self._spawn(argv, f"ippeve-{queue}", env, d / "ippeveprinter.log")
            _wait(lambda: _port_open(sim.port), 10, f"ippeveprinter {queue}")

        start()
        sim.restart = start
        c = self.connection()
        c.addPrinter(queue, device=sim.uri, ppdname="everywhere", info=f"simulated {profile.model}")
        _wait(lambda: (self.base / "conf" / "ppd" / f"{queue}.ppd").exists(), 20, f"everywhere PPD for {queue}")
        self._enable(queue, {"media": profile.media})
        self.printers[queue] = sim
        return sim

    def add_cups_pdf(self, queue: str) -> None:
        """A cups-pdf queue (needs ``start(cups_pdf=True)``); output lands in ``base/pdfout``."""
        self.connection().addPrinter(queue, device="cups-pdf:/", filename="/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd",
                                     info="cups-pdf")
        self._enable(queue)

    def add_file(self, queue: str, path: str | Path) -> None:
        """A ``file:`` queue writing plain PDF (Generic-PDF PPD without its PJL wrapper)."""
        ppd = self.base / "plain-pdf.ppd"
        src = Path("/usr/share/ppd/cupsfilters/Generic-PDF_Printer-PDF.ppd").read_text(encoding="latin-1")
        ppd.write_text("\n".join(line for line in src.splitlines()
                                 if not line.startswith(("*JCLBegin", "*JCLToPDFInterpreter", "*JCLEnd"))) + "\n",
                       encoding="latin-1")
        self.connection().addPrinter(queue, device=f"file://{path}", filename=str(ppd), info="file device")
        self._enable(queue)

    def _enable(self, queue: str, defaults: dict[str, str] | None = None) -> None:
        c = self.connection()
        c.enablePrinter(queue)
        c.acceptJobs(queue)
        for key, value in (defaults or {}).items():
            c.addPrinterOptionDefault(queue, key, value)

    def reset_queue(self, queue: str) -> None:
        """Cancels leftovers and re-enables the queue (cupsd stops a queue after a backend failure)."""
        c = self.connection()
        with contextlib.suppress(Exception):
            c.cancelAllJobs(name=queue, purge_jobs=False)
        self._enable(queue)
        if queue in self.printers:
            self.printers[queue].clear()

    def log_tail(self, lines: int = 40) -> str:
        path = self.base / "log" / "error_log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def _terminate(proc: subprocess.Popen[bytes], timeout_s: float = 10) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)  # our own session: never anybody else's process
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def sandbox(**kw: Any) -> Iterator[CupsSandbox]:
    box = CupsSandbox(**kw).start()
    try:
        yield box
    finally:
        box.stop()
