"""Regenerate the SOC 2 and NIST CSF 2.0 catalogs from the reference data.

A maintainer script, not part of the package: the installed package only reads the YAML files
this writes (``pytest_enterprise/compliance/catalogs/``). It reads

- ``TSC-2017.yml`` (strongdm/comply, Apache-2.0): the 61 SOC 2 criterion IDs, their short names
  and families. The ``description`` texts paraphrase AICPA text and are deliberately dropped.
- ``NIST_CSF_v2.0_catalog.xml`` (usnistgov/oscal-content, public domain): the CSF 2.0 functions,
  categories and subcategories, plus the withdrawn CSF 1.1 categories and subcategories.

The OSCAL file says which entries exist but not what replaced the withdrawn ones, so the
successors are kept below as data (``WITHDRAWN_SUBCATEGORIES``, ``WITHDRAWN_CATEGORIES``),
transcribed from NIST's CSF 2.0 Reference Tool export (``[Withdrawn: Incorporated into …]``).

    python tools/build_catalogs.py            # rewrite soc2.yaml and nist-csf.yaml
    python tools/build_catalogs.py --check    # exit 1 if either file is out of date
    python tools/build_catalogs.py --data DIR # reference data elsewhere (default ../shared/data/catalogs)
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CATALOGS = ROOT / "pytest_enterprise" / "compliance" / "catalogs"
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "catalogs"
SOC2_SOURCE = "TSC-2017.yml"
NIST_SOURCE = "NIST_CSF_v2.0_catalog.xml"
OSCAL = "{http://csrc.nist.gov/ns/oscal/1.0}"

SOC2_FAMILIES = (
    "CC1", "CC2", "CC3", "CC4", "CC5", "CC6", "CC7", "CC8", "CC9",
    "A1", "C1", "PI1", "P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8",
)  # fmt: skip

# NIST CSF 2.0 Reference Tool ("CSF 2.0" sheet, generated 2024-09-23): each withdrawn CSF 1.1
# subcategory and the 2.0 element(s) NIST says it was moved to or incorporated into, in NIST's
# order. Some successors are whole categories (GV.PO, GV.RR, ID.IM, DE.AE): that is how NIST
# wrote them.
WITHDRAWN_SUBCATEGORIES: Mapping[str, tuple[str, ...]] = {
    "ID.AM-06": ("GV.RR-02", "GV.SC-02"),
    "ID.BE-01": ("GV.OC-05",),
    "ID.BE-02": ("GV.OC-01",),
    "ID.BE-03": ("GV.OC-01",),
    "ID.BE-04": ("GV.OC-04", "GV.OC-05"),
    "ID.BE-05": ("GV.OC-04",),
    "ID.GV-01": ("GV.PO", "GV.PO-01", "GV.PO-02"),
    "ID.GV-02": ("GV.OC-02", "GV.RR", "GV.RR-02"),
    "ID.GV-03": ("GV.OC-03",),
    "ID.GV-04": ("GV.RM-04",),
    "ID.RM-01": ("GV.RM-01", "GV.RM-06", "GV.RR-03"),
    "ID.RM-02": ("GV.RM-02", "GV.RM-04"),
    "ID.RM-03": ("GV.RM-02",),
    "ID.SC-01": ("GV.RM-05", "GV.SC-01", "GV.SC-06", "GV.SC-09", "GV.SC-10"),
    "ID.SC-02": ("GV.OC-02", "GV.SC-03", "GV.SC-04", "GV.SC-07", "ID.RA-10"),
    "ID.SC-03": ("GV.SC-05",),
    "ID.SC-04": ("GV.SC-07", "ID.RA-10"),
    "ID.SC-05": ("GV.SC-08", "ID.IM-02"),
    "PR.AC-01": ("PR.AA-01", "PR.AA-05"),
    "PR.AC-02": ("PR.AA-06",),
    "PR.AC-03": ("PR.AA-03", "PR.AA-05", "PR.IR-01"),
    "PR.AC-04": ("PR.AA-05",),
    "PR.AC-05": ("PR.IR-01",),
    "PR.AC-06": ("PR.AA-02",),
    "PR.AC-07": ("PR.AA-03",),
    "PR.AT-03": ("PR.AT-01", "PR.AT-02"),
    "PR.AT-04": ("PR.AT-02",),
    "PR.AT-05": ("PR.AT-02",),
    "PR.DS-03": ("ID.AM-08", "PR.PS-03"),
    "PR.DS-04": ("PR.IR-04",),
    "PR.DS-05": ("PR.DS-01", "PR.DS-02", "PR.DS-10"),
    "PR.DS-06": ("PR.DS-01", "DE.CM-09"),
    "PR.DS-07": ("PR.IR-01",),
    "PR.DS-08": ("ID.RA-09", "DE.CM-09"),
    "PR.IP-01": ("PR.PS-01",),
    "PR.IP-02": ("ID.AM-08", "PR.PS-06"),
    "PR.IP-03": ("PR.PS-01", "ID.RA-07"),
    "PR.IP-04": ("PR.DS-11",),
    "PR.IP-05": ("PR.IR-02",),
    "PR.IP-06": ("ID.AM-08",),
    "PR.IP-07": ("ID.IM", "ID.IM-03"),
    "PR.IP-08": ("ID.IM-03",),
    "PR.IP-09": ("ID.IM-04",),
    "PR.IP-10": ("ID.IM-02", "ID.IM-04"),
    "PR.IP-11": ("GV.RR-04",),
    "PR.IP-12": ("ID.RA-01", "PR.PS-02"),
    "PR.MA-01": ("ID.AM-08", "PR.PS-03"),
    "PR.MA-02": ("ID.AM-08", "PR.PS-02"),
    "PR.PT-01": ("PR.PS-04",),
    "PR.PT-02": ("PR.DS-01", "PR.PS-01"),
    "PR.PT-03": ("PR.PS-01",),
    "PR.PT-04": ("PR.AA-06", "PR.IR-01"),
    "PR.PT-05": ("PR.IR-03",),
    "DE.AE-01": ("ID.AM-03",),
    "DE.AE-05": ("DE.AE-08",),
    "DE.CM-04": ("DE.CM-01", "DE.CM-09"),
    "DE.CM-05": ("DE.CM-01", "DE.CM-09"),
    "DE.CM-07": ("DE.CM-01", "DE.CM-03", "DE.CM-06", "DE.CM-09"),
    "DE.CM-08": ("ID.RA-01",),
    "DE.DP-01": ("GV.RR-02",),
    "DE.DP-02": ("DE.AE",),
    "DE.DP-03": ("ID.IM-02",),
    "DE.DP-04": ("DE.AE-06",),
    "DE.DP-05": ("ID.IM", "ID.IM-03"),
    "RS.AN-01": ("RS.MA-02",),
    "RS.AN-02": ("RS.MA-02", "RS.MA-03", "RS.MA-04"),
    "RS.AN-04": ("RS.MA-03",),
    "RS.AN-05": ("ID.RA-08",),
    "RS.CO-01": ("PR.AT-01",),
    "RS.CO-04": ("RS.MA-01", "RS.MA-04"),
    "RS.CO-05": ("RS.CO-03",),
    "RS.IM-01": ("ID.IM-03", "ID.IM-04"),
    "RS.IM-02": ("ID.IM-03",),
    "RS.MI-03": ("ID.RA-06",),
    "RS.RP-01": ("RS.MA-01",),
    "RC.CO-01": ("RC.CO-04",),
    "RC.CO-02": ("RC.CO-04",),
    "RC.IM-01": ("ID.IM-03", "ID.IM-04"),
    "RC.IM-02": ("ID.IM-03",),
}

# The withdrawn CSF 1.1 categories. Where NIST names 2.0 categories (or a subcategory, for
# PR.MA) they are used as written. Four notes name no category of ours: ID.GV says "GV" (the
# whole function), PR.IP and DE.DP say "other Categories and Functions", PR.PT "other Protect
# Categories". For those the successors are inferred: the 2.0 categories that NIST's notes on the
# category's own subcategories point into (see INFERRED_CATEGORIES and NOTICE.md).
WITHDRAWN_CATEGORIES: Mapping[str, tuple[str, ...]] = {
    "ID.BE": ("GV.OC",),
    "ID.GV": ("GV.OC", "GV.RM", "GV.RR", "GV.PO"),
    "ID.RM": ("GV.RM",),
    "ID.SC": ("GV.SC",),
    "PR.AC": ("PR.AA",),
    "PR.IP": ("GV.RR", "ID.AM", "ID.RA", "ID.IM", "PR.DS", "PR.PS", "PR.IR"),
    "PR.MA": ("ID.AM-08",),
    "PR.PT": ("PR.AA", "PR.DS", "PR.PS", "PR.IR"),
    "DE.DP": ("GV.RR", "DE.AE", "ID.IM"),
    "RS.RP": ("RS.MA",),
    "RS.IM": ("ID.IM",),
    "RC.IM": ("ID.IM",),
}
INFERRED_CATEGORIES = ("ID.GV", "PR.IP", "PR.PT", "DE.DP")

NIST_SOURCE_LINE = (
    "NIST Cybersecurity Framework (CSF) 2.0, NIST CSWP 29 (2024): OSCAL catalog from "
    "usnistgov/oscal-content; withdrawal successors from NIST's CSF 2.0 Reference Tool. "
    "U.S. Government work, public domain."
)
SOC2_SOURCE_LINE = (
    "SOC 2 Trust Services Criteria (2017): criterion IDs and short names from strongdm/comply "
    "(example/standards/TSC-2017.yml, Apache-2.0). The criteria text is (c) AICPA and is not included."
)


# --- SOC 2 -------------------------------------------------------------------------------------


def soc2_controls(data_dir: Path) -> list[dict[str, Any]]:
    """The 61 criteria, in the source's order, with the short name as title."""
    raw = yaml.safe_load((data_dir / SOC2_SOURCE).read_text(encoding="utf-8"))
    controls = []
    for key, entry in raw.items():
        if not isinstance(entry, dict):  # the top-level "name: TSC"
            continue
        family = str(entry["family"])
        if family not in SOC2_FAMILIES or not str(key).startswith(family + "."):
            raise ValueError(f"{SOC2_SOURCE}: {key}: unexpected family {family!r}")
        controls.append({"id": str(key), "title": " ".join(str(entry["name"]).split()), "family": family})
    return controls


def soc2_document(data_dir: Path) -> dict[str, Any]:
    return {
        "framework": "soc2",
        "name": "SOC 2 Trust Services Criteria",
        "version": "2017",
        "source": SOC2_SOURCE_LINE,
        "controls": soc2_controls(data_dir),
    }


# --- NIST CSF 2.0 ------------------------------------------------------------------------------


def _props(element: ET.Element) -> dict[str, str]:
    return {prop.get("name", ""): prop.get("value", "") for prop in element.findall(f"{OSCAL}prop")}


def _statement(element: ET.Element) -> str:
    part = element.find(f"{OSCAL}part[@name='statement']")
    return " ".join("".join(part.itertext()).split()) if part is not None else ""


def _is_active_subcategory(element: ET.Element) -> bool:
    # Every CSF 2.0 subcategory has implementation examples; the withdrawn 1.1 ones have none.
    # (The risk-party prop is no test: ID.RA-07, ID.RA-10 and PR.IR-04 are active without it.)
    return any(part.get("name") == "example" for part in element.findall(f"{OSCAL}part"))


def _sort_key(element: ET.Element) -> tuple[str, str]:
    return _props(element).get("sort-id", ""), element.get("id", "")


def nist_entries(data_dir: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(active entries in CSF 2.0 order, withdrawn CSF 1.1 entries), from the OSCAL catalog."""
    root = ET.parse(data_dir / NIST_SOURCE).getroot()
    active: list[dict[str, Any]] = []
    withdrawn: list[dict[str, Any]] = []
    for function in sorted(root.findall(f"{OSCAL}group"), key=_sort_key):
        fid = function.get("id", "")
        active.append(
            {
                "id": fid,
                "title": str(function.findtext(f"{OSCAL}title", "")).strip().title(),
                "family": fid,
                "level": "function",
                "assessable": False,
            }
        )
        for category in sorted(function.findall(f"{OSCAL}control"), key=_sort_key):
            cid = category.get("id", "")
            subcategories = sorted(category.findall(f"{OSCAL}control"), key=_sort_key)
            live = [sub for sub in subcategories if _is_active_subcategory(sub)]
            entry = {
                "id": cid,
                "title": " ".join(str(category.findtext(f"{OSCAL}title", "")).split()),
                "family": fid,
                "level": "category",
                "assessable": False,
            }
            if live:
                active.append(entry)
            else:
                replaced_by = _successors(cid, WITHDRAWN_CATEGORIES)
                withdrawn.append({**entry, "status": "withdrawn", "replaced_by": replaced_by})
            for sub in subcategories:
                sid = sub.get("id", "")
                sub_entry = {"id": sid, "title": _statement(sub), "family": cid, "level": "subcategory"}
                if sub in live:
                    active.append(sub_entry)
                else:
                    replaced_by = _successors(sid, WITHDRAWN_SUBCATEGORIES)
                    withdrawn.append({**sub_entry, "status": "withdrawn", "replaced_by": replaced_by})
    known = {entry["id"] for entry in active} | {entry["id"] for entry in withdrawn}
    for table in (WITHDRAWN_CATEGORIES, WITHDRAWN_SUBCATEGORIES):
        stale = sorted(set(table) - known)
        if stale:
            raise ValueError(f"withdrawal mapping names IDs not in {NIST_SOURCE}: {', '.join(stale)}")
    live_ids = {entry["id"] for entry in active}
    for entry in withdrawn:
        dangling = [target for target in entry["replaced_by"] if target not in live_ids]
        if dangling:
            raise ValueError(f"{entry['id']}: successor(s) {', '.join(dangling)} are not active CSF 2.0 IDs")
    return active, withdrawn


def _successors(entry_id: str, table: Mapping[str, tuple[str, ...]]) -> list[str]:
    if entry_id not in table:
        raise ValueError(f"{entry_id} is withdrawn in {NIST_SOURCE} but has no successor in the mapping")
    return list(table[entry_id])


def nist_document(data_dir: Path) -> dict[str, Any]:
    active, withdrawn = nist_entries(data_dir)
    return {
        "framework": "nist-csf",
        "name": "NIST CSF 2.0",
        "version": "2.0",
        "source": NIST_SOURCE_LINE,
        "controls": active + withdrawn,
    }


# --- writing -----------------------------------------------------------------------------------


class _Flow(list):  # type: ignore[type-arg]
    """A list written inline: ``replaced_by: [PR.AA-01, PR.AA-05]``."""


class _Dumper(yaml.SafeDumper):
    pass


def _represent_flow(dumper: yaml.SafeDumper, data: _Flow) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_Dumper.add_representer(_Flow, _represent_flow)

_KEY_ORDER = ("id", "title", "family", "status", "replaced_by", "level", "assessable")


def _control(entry: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in _KEY_ORDER:
        if key not in entry:
            continue
        value = entry[key]
        if (key, value) in (("status", "active"), ("level", "control"), ("assessable", True)):
            continue  # the defaults stay implicit
        out[key] = _Flow(value) if key == "replaced_by" else value
    return out


def render(document: Mapping[str, Any], generated_from: Iterable[str]) -> str:
    """The YAML text of a catalog document, with a header naming the script and its inputs."""
    body = {key: document[key] for key in ("framework", "name", "version", "source")}
    body["controls"] = [_control(entry) for entry in document["controls"]]
    header = [
        "# Generated by tools/build_catalogs.py; edit the script or its inputs, not this file.",
        *(f"# Input: {name}" for name in generated_from),
        "# Attribution and licences: NOTICE.md",
    ]
    text = yaml.dump(body, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096, default_flow_style=False)
    return "\n".join(header) + "\n" + text


def outputs(data_dir: Path) -> Iterator[tuple[Path, str]]:
    yield CATALOGS / "soc2.yaml", render(soc2_document(data_dir), [f"{SOC2_SOURCE} (strongdm/comply)"])
    yield CATALOGS / "nist-csf.yaml", render(nist_document(data_dir), [f"{NIST_SOURCE} (usnistgov/oscal-content)"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding the reference files")
    parser.add_argument("--check", action="store_true", help="report stale files instead of writing them")
    args = parser.parse_args(argv)
    for name in (SOC2_SOURCE, NIST_SOURCE):
        if not (args.data / name).is_file():
            print(f"{args.data / name}: not found (use --data)", file=sys.stderr)
            return 2
    stale = 0
    for path, text in outputs(args.data):
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            print(f"{path.relative_to(ROOT)}: up to date")
        elif args.check:
            stale += 1
            print(f"{path.relative_to(ROOT)}: out of date; run python tools/build_catalogs.py", file=sys.stderr)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{path.name}.tmp")
            temp.write_text(text, encoding="utf-8", newline="\n")
            temp.replace(path)
            print(f"{path.relative_to(ROOT)}: written")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())

