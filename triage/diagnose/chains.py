"""The known chains, in the order `decide` runs them; each takes the signals it explains out of the pool:

1. HBM: XID 48 -> 63/64 -> 94/95, row-remap states and DCGM memory failures on one GPU.
2. Off the bus: XID 79 / "fallen off the bus" with the AER errors of the port above the GPU
   (already named after the GPU by `devices`): a GPU whose link degraded first is a PCIe
   problem; otherwise the GPU failed (RMA when it stays lost to the tools).
3. NVSwitch: a fatal SXid on a switch with XID 74 or DCGM NVSwitch failures on its GPUs.
4. InfiniBand: per port, HCA health errors (HCA) or flaps, module errors, rising error
   counters and NCCL network errors (cable / port, not the GPU).
5. GSP: XID 119/120 with the recovery action the driver asks for (reset first).
6. Compute exceptions: XID 13/31/43 on a GPU that also fails DCGM or HPL is the GPU; with a
   crash of the job, or alone, it is the application (not blamed on the node); repeated with
   nothing else it is a suspect GPU to rerun.
7. PCIe: a link trained narrower or slower than it can, low host<->device bandwidth, replays
   and bursts of corrected AER errors on one GPU's link: reseat (one weak sign: investigate).
8. Thermal: a GPU hot against its cohort or in thermal slowdown (with the Gflops it costs).
9. Host memory: uncorrectable EDAC errors on a DIMM, with the machine checks they raise.
10. Everything else by device: the strongest signal of the device is the primary cause.

Escalation by history: the same fatal XID in three or more boots, or five or more times,
moves the action from a reset to an RMA.
"""

from __future__ import annotations

from triage.diagnose.catalog import CAUSE, SYMPTOM
from triage.diagnose.verdict import (
    SEVERITY_RANK,
    Pool,
    Signal,
    Verdict,
    first,
    is_,
    severity_of,
    signs_of,
    strongest,
    words,
)

ESCALATE_BOOTS = 3  # GPUd: the same XID after two reboots asks for a hardware inspection


ESCALATE_COUNT = 5  # NVSentinel: a fatal XID five or more times on one GPU goes to the vendor


HBM = ("xid-48", "xid-63", "xid-64", "xid-92", "xid-94", "xid-95")


COMPUTE = ("xid-13", "xid-31", "xid-43")


GSP = ("xid-119", "xid-120", "xid-154")


CRASHES = ("gpu-library-crash",)


def _hbm(pool: Pool) -> list[Verdict]:
    out = []
    memory = is_(root_cause="gpu_memory")
    for device in pool.devices(lambda s: s["ref"] in HBM or (memory(s) and s["role"] == CAUSE)):
        signals = pool.take(lambda s, d=device: s["device"] == d and (s["ref"] in HBM or memory(s)))
        refs = {s["ref"] for s in signals}
        failed = "xid-64" in refs or any(s["action"] == "rma_gpu" for s in signals)
        dbe = first(signals, "xid-48")
        repeated = dbe is not None and (dbe["boots"] >= ESCALATE_BOOTS or dbe["count"] >= ESCALATE_COUNT)
        if failed or repeated:
            action = "rma_gpu"
        elif refs & {"xid-48", "xid-63", "xid-95"} or any(s["action"] == "reset_gpu" for s in signals):
            action = "reset_gpu"
        elif refs & {"xid-94"}:
            action = "restart_app"
        else:
            action = strongest(signals)["action"]
        primary = first(signals, "xid-64", "xid-48", "xid-63", "xid-95", "xid-94", "xid-92") or strongest(signals)
        what = _hbm_words(refs, signals, repeated, dbe)
        verdict = Verdict(
            pool.host,
            device,
            "gpu",
            "gpu_memory",
            action,
            severity_of(signals, action),
            f"{what} on {pool.name(device)}",
            primary,
            signals,
        )
        # a DCGM memory test the tool could not attach to a GPU belongs to this one
        verdict.add(pool.take(lambda s: s["device"] is None and memory(s)))
        out.append(verdict)
    return out


def _hbm_words(refs: set[str], signals: list[Signal], repeated: bool, dbe: Signal | None) -> str:
    if "xid-48" in refs and "xid-64" in refs:
        words = "Uncorrectable HBM ECC (XID 48) followed by a failed row remap (XID 64)"
    elif "xid-48" in refs and "xid-63" in refs:
        words = "Uncorrectable HBM ECC (XID 48) with a row remap pending (XID 63)"
    elif "xid-48" in refs:
        words = "Uncorrectable HBM ECC (XID 48)"
    elif "xid-64" in refs:
        words = "Failed HBM row remap (XID 64)"
    elif any(s["action"] == "rma_gpu" for s in signals):
        words = "HBM row remapping failed"
    else:
        words = "GPU memory errors (" + ", ".join(sorted(refs)) + ")"
    if repeated and dbe is not None:
        words += f", seen in {dbe['boots']} boots ({dbe['count']} times)"
    return words


def _off_the_bus(pool: Pool) -> list[Verdict]:
    out = []
    lost = ("xid-79", "gpu-fallen-off-bus")
    for device in pool.devices(lambda s: s["ref"] in lost):
        signals = pool.take(lambda s, d=device: s["device"] == d)
        fell = [s for s in signals if s["ref"] in lost]
        when = min((s["first_ts"] for s in fell if s["first_ts"] is not None), default=None)
        degraded = [
            s
            for s in signals
            if s["role"] == CAUSE
            and s["ref"].startswith(("pcie-link-downtrained", "pcie-aer-corrected-burst"))
            and (when is None or s["first_ts"] is None or s["first_ts"] < when)
        ]
        still_lost = any(s["ref"] == "nvidia_smi:gpu_unreachable" for s in signals) or any(
            "gpu is lost" in (s["text"] or "").lower() for s in pool.signals
        )
        primary = first(signals, "xid-79", "gpu-fallen-off-bus")
        assert primary is not None
        if degraded:
            verdict = Verdict(
                pool.host,
                device,
                "gpu",
                "pcie",
                "check_mechanicals",
                "critical",
                f"{pool.name(device)} fell off the bus after its PCIe link degraded "
                f"({', '.join(sorted({s['ref'] for s in degraded}))}): reseat the GPU and check the riser",
                primary,
                signals,
            )
        else:
            action = "rma_gpu" if still_lost else "reboot_node"
            aer = sorted({s["ref"] for s in signals if s["ref"].startswith("pcie-aer")})
            surprise = " (Surprise Down)" if "pcie-aer-surprise-down" in aer else ""
            cause = f" after fatal PCIe errors{surprise} on its root port" if aer else ""
            tail = " and stays lost to nvidia-smi and DCGM" if still_lost else ""
            verdict = Verdict(
                pool.host,
                device,
                "gpu",
                "gpu_hardware",
                action,
                "critical",
                f"{pool.name(device)} fell off the bus (XID 79){cause}{tail}",
                primary,
                signals,
            )
        verdict.add(pool.take(lambda s: "gpu is lost" in (s["text"] or "").lower()))
        out.append(verdict)
    return out


def _nvswitch(pool: Pool) -> list[Verdict]:
    switches = pool.devices(lambda s: s["ref"].startswith("sxid-") and s["role"] == CAUSE)
    if not switches:
        return []
    out = []
    links = pool.take(
        lambda s: s["ref"] == "xid-74" or (s["root_cause"] == "nvswitch" and not s["ref"].startswith("sxid-"))
    )
    for n, device in enumerate(switches):
        signals = pool.take(lambda s, d=device: s["device"] == d)
        fatal = any('"sxid_severity":"Fatal"' in (s["fields"] or "") for s in signals) or any(
            SEVERITY_RANK[s["severity"]] >= SEVERITY_RANK["error"] for s in signals
        )
        gpus = {s["device"] for s in links if s["device"] is not None}
        confirmed = any(s["kind"] == "test" for s in links) or len(gpus) >= 2
        action = "rma_baseboard" if fatal and confirmed else "reboot_node"
        primary = strongest(signals)
        codes = ", ".join(sorted({s["ref"].removeprefix("sxid-") for s in signals if s["ref"].startswith("sxid-")}))
        seen = f" with NVLink errors (XID 74 or DCGM) on {len(gpus)} GPU(s)" if gpus else ""
        verdict = Verdict(
            pool.host,
            device,
            "nvswitch",
            "nvswitch",
            action,
            "critical" if action.startswith("rma") else "error",
            f"Fatal SXid {codes} on NVSwitch {device}{seen}",
            primary,
            signals,
        )
        if n == 0:
            verdict.add(links)
        out.append(verdict)
    return out


def _infiniband(pool: Pool) -> list[Verdict]:
    out = []
    network = is_(root_cause=("infiniband_link", "infiniband_hca"))
    for device in pool.devices(lambda s: network(s) and s["role"] == CAUSE):
        signals = pool.take(lambda s, d=device: s["device"] == d and (network(s) or s["role"] == SYMPTOM))
        hca = [s for s in signals if s["root_cause"] == "infiniband_hca" and s["role"] == CAUSE]
        if hca:
            hardware = any(s["action"] == "rma_hca" for s in hca)
            action = "rma_hca" if hardware else "reboot_node"
            primary = first(hca, "mlx5-health-synd-hardware", "mlx5-health-recovery-failed") or strongest(hca)
            summary = f"HCA {pool.name(device)} failed: {primary['text']}"
            verdict = Verdict(pool.host, device, "hca", "infiniband_hca", action, "critical", summary, primary, signals)
        else:
            strong = [s for s in signals if s["action"] == "replace_cable"]
            action = "replace_cable" if strong else "investigate"
            primary = strongest(strong or signals)
            summary = f"InfiniBand link {pool.name(device)} is unstable ({signs_of(signals)})" + (
                ": replace the cable or transceiver" if strong else ""
            )
            verdict = Verdict(
                pool.host,
                device,
                "cable",
                "infiniband_link",
                action,
                severity_of(signals, action),
                summary,
                primary,
                signals,
            )
        out.append(verdict)
    return out


def _gsp(pool: Pool) -> list[Verdict]:
    out = []
    for device in pool.devices(lambda s: s["ref"] in GSP[:2]):
        signals = pool.take(
            lambda s, d=device: (
                s["device"] == d
                and (s["ref"] in GSP or s["root_cause"] == "driver_firmware" or "reset" in (s["text"] or "").lower())
            )
        )
        timeouts = first(signals, *GSP[:2])
        assert timeouts is not None
        repeated = timeouts["boots"] >= ESCALATE_BOOTS
        action = "rma_gpu" if repeated else "reset_gpu"
        asked = " and the driver asks for a GPU reset (XID 154)" if first(signals, "xid-154") else ""
        history = f", in {timeouts['boots']} boots" if repeated else ""
        verdict = Verdict(
            pool.host,
            device,
            "gpu",
            "driver_firmware",
            action,
            "error" if not repeated else "critical",
            f"GSP firmware timeouts ({timeouts['ref'].upper().replace('-', ' ')} x{timeouts['count']}{history}) on "
            f"{pool.name(device)}{asked}",
            timeouts,
            signals,
        )
        out.append(verdict)
    return out


def _compute(pool: Pool) -> list[Verdict]:
    out = []
    crashes = [s for s in pool.signals if s["ref"] in CRASHES or "out of memory" in (s["text"] or "").lower()]
    hpl_failed = [s for s in pool.signals if s["kind"] == "test" and s["ref"] == "hpl" and s["role"] == CAUSE]

    def failing(s: Signal) -> bool:
        return s["kind"] == "test" and s["root_cause"] == "gpu_hardware" and s["device"] is not None

    # a node-level HPL failure points at a GPU only when no GPU's own test already explains it
    hpl_suspects = not any(failing(s) for s in pool.signals)
    for device in pool.devices(lambda s: s["ref"] in COMPUTE):
        exceptions = pool.take(lambda s, d=device: s["device"] == d and s["ref"] in COMPUTE)
        count = sum(s["count"] for s in exceptions)
        tests = pool.take(lambda s, d=device: s["device"] == d and failing(s))
        xids = ", ".join(f"XID {s['ref'][4:]} x{s['count']}" for s in exceptions)
        primary = max(exceptions, key=lambda s: s["count"])
        graphics = any(s["ref"] == "xid-13" and s["count"] >= 3 for s in exceptions)
        if tests or (hpl_failed and hpl_suspects and graphics and not crashes):
            evidence = tests + pool.take(lambda s: s in hpl_failed)
            action = "rma_gpu" if any(s["action"] == "rma_gpu" for s in evidence) else "rerun_test"
            failed = ", ".join(sorted({s["ref"] for s in evidence or hpl_failed}))
            verdict = Verdict(
                pool.host,
                device,
                "gpu",
                "gpu_hardware",
                action,
                "critical" if action == "rma_gpu" else "error",
                f"{pool.name(device)} computes wrong results under stress: {xids} and failed {failed}",
                strongest(evidence or exceptions),
                exceptions + evidence,
            )
        elif crashes or count < ESCALATE_COUNT:
            action = "restart_app" if count >= 3 else "none"
            crash = " with a crashed job" if crashes else ""
            verdict = Verdict(
                pool.host,
                device,
                "software",
                "application",
                action,
                "warning" if action != "none" else "info",
                f"Application errors on {pool.name(device)} ({xids}){crash}: not blamed on the node",
                primary,
                exceptions + (pool.take(lambda s: s in crashes) if crashes else []),
            )
        else:
            verdict = Verdict(
                pool.host,
                device,
                "gpu",
                "gpu_hardware",
                "rerun_test",
                "warning",
                f"Repeated compute exceptions on {pool.name(device)} ({xids}) with no job crash: "
                "rerun DCGM diagnostics on it",
                primary,
                exceptions,
            )
        out.append(verdict)
    return out


def _pcie(pool: Pool) -> list[Verdict]:
    out = []
    for device, signals in pool.incidents("pcie"):
        signs = {words(s) for s in signals if s["role"] == CAUSE}
        narrow = any(s["action"] == "check_mechanicals" for s in signals)
        action = "check_mechanicals" if narrow or len(signs) >= 2 else "investigate"
        primary = first(signals, "pcie-link-downtrained-width", "pcie-link-downtrained-speed", "pcie-link-downtrained")
        primary = primary or strongest(signals)
        tail = ": reseat the GPU and check the riser and cable" if action == "check_mechanicals" else ""
        out.append(
            Verdict(
                pool.host,
                device,
                "gpu",
                "pcie",
                action,
                severity_of(signals, action),
                f"PCIe link of {pool.name(device)} degraded ({signs_of(signals)}){tail}",
                primary,
                signals,
            )
        )
    return out


def _thermal(pool: Pool) -> list[Verdict]:
    out = []
    for device, signals in pool.incidents("thermal_power"):
        signs = {words(s) for s in signals if s["role"] == CAUSE}
        action = "check_mechanicals" if len(signs) >= 2 or any(s["kind"] == "state" for s in signals) else "monitor"
        primary = strongest(signals)
        out.append(
            Verdict(
                pool.host,
                device,
                "gpu",
                "thermal_power",
                action,
                severity_of(signals, action),
                f"{pool.name(device)} runs hot ({signs_of(signals)}): check airflow, fans and heatsink seating",
                primary,
                signals,
            )
        )
    return out


def _host_memory(pool: Pool) -> list[Verdict]:
    out = []
    for device, signals in pool.incidents("host_memory"):
        primary = strongest(signals)
        verdict = Verdict(
            pool.host,
            device,
            "dimm",
            "host_memory",
            primary["action"],
            severity_of(signals, primary["action"]),
            f"{primary['text']} on DIMM {device}",
            primary,
            signals,
        )
        # the machine checks of the node are how the CPU reported these memory errors
        verdict.add(pool.take(lambda s: s["device"] is None and s["root_cause"] in ("host_hardware", "host_memory")))
        out.append(verdict)
    return out


def _by_device(pool: Pool) -> list[Verdict]:
    out = []
    causes = [s for s in pool.signals if s["role"] == CAUSE and s["root_cause"] != "performance"]
    devices: dict[str | None, None] = {}
    for s in causes:
        devices[s["device"]] = None
    for device in devices:
        signals = pool.take(
            lambda s, d=device: s["device"] == d and s["role"] == CAUSE and s["root_cause"] != "performance"
        )
        if not signals:
            continue
        primary = strongest(signals)
        if device is None and any(v.root_cause == primary["root_cause"] for v in out if v.device is not None):
            next(v for v in out if v.root_cause == primary["root_cause"]).add(signals)
            continue
        same = [s for s in signals if s["root_cause"] == primary["root_cause"]]
        action = _escalate(primary, same)
        more = len({s["ref"] for s in same}) - 1
        tail = f" and {more} related sign(s)" if more > 0 else ""
        verdict = Verdict(
            pool.host,
            device,
            primary["component"],
            primary["root_cause"],
            action,
            severity_of(same, action),
            f"{primary['text']} on {pool.name(device)}{tail}",
            primary,
            signals,
        )
        out.append(verdict)
    return out


def _escalate(primary: Signal, same: list[Signal]) -> str:
    """The primary's action, or an RMA when a hardware XID kept coming back across boots or in bulk."""
    action = primary["action"]
    repeated = primary["ref"].startswith("xid-") and (
        primary["boots"] >= ESCALATE_BOOTS or primary["count"] >= ESCALATE_COUNT
    )
    if repeated and action in ("reset_gpu", "reboot_node") and primary["component"] == "gpu":
        return "rma_gpu"
    return action


CHAINS = (_hbm, _off_the_bus, _nvswitch, _infiniband, _gsp, _compute, _pcie, _thermal, _host_memory, _by_device)
