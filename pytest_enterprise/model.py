"""The run record: plain data that every analyzer and view reads.

The pytest side fills a ``RunRecord``; quality, compliance and supply-chain analyzers map it to
results; the JSON report is its serialised form (also what the history store keeps). Nothing
here imports pytest.

Outcome vocabulary (see docs/design.md, "outcome model"):

========== ===== ======= ==============================================
outcome    unit  defect  note
========== ===== ======= ==============================================
passed     yes   no
failed     yes   yes     failure in call; category ``failure``
error      yes   yes     setup/teardown error; category ``error``
crashed    yes   yes     xdist worker died; category ``crash``
error      yes   yes     a module (collector) failed to collect; category ``collection``,
                         one ``collect`` phase, nodeid of the collector; the run's evidence
                         is then incomplete (``evidence_gaps``)
xpassed    yes   no      non-strict xpass (strict xpass is ``failed``)
skipped    no    no      reported, not counted
xfailed    no    no      a known defect, reported, not counted
========== ===== ======= ==============================================
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

UNIT_OUTCOMES = frozenset({"passed", "failed", "error", "crashed", "xpassed"})
DEFECT_OUTCOMES = frozenset({"failed", "error", "crashed"})
COLLECTION = "collection"
"""Category of a collection error: the unit is the collector (usually a test module)."""
SEVERITIES = ("critical", "high", "medium", "low")
DEFAULT_SEVERITY = "medium"


@dataclass(slots=True, frozen=True)
class Phase:
    """One report of one attempt: setup, call, teardown, or ``crash`` for a dead worker."""

    when: str
    outcome: str
    duration: float



@dataclass(slots=True)
class Subtest:
    """One pytest 9 subtest inside the call phase of an attempt."""

    description: str
    outcome: str

    def to_dict(self) -> dict[str, Any]:
        return {"description": self.description, "outcome": self.outcome}


# Every distinct phase shape, e.g. (("setup", "passed"), ("call", "passed"), ...), is kept
# once and shared: almost every attempt of a run has one of a handful of shapes.
_SHAPES: dict[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = {}


# (id of a shared shape, when, outcome) -> the shared shape with that phase added. Keyed by
# identity because a tuple of tuples is hashed afresh on every lookup; shared shapes live as
# long as _SHAPES, so their ids stay theirs.
_NEXT_SHAPE: dict[tuple[int, str, str], tuple[tuple[str, str], ...]] = {}


def _shared_shape(shape: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return _SHAPES.setdefault(shape, shape)


_DOUBLE = struct.Struct("<d")


def _pack(durations: Iterable[float]) -> bytes:
    return b"".join(_DOUBLE.pack(d) for d in durations)


def _unpack(packed: bytes) -> list[float]:
    return [value for (value,) in _DOUBLE.iter_unpack(packed)]


@dataclass(slots=True, init=False)
class Attempt:
    """One execution of a test (pytest-rerunfailures may make several).

    Phases are stored compactly, as a shared shape (when and outcome of each phase) and the
    durations packed as IEEE doubles in one ``bytes``, and read back as ``Phase`` objects: a run
    of 50,000 tests keeps 150,000 phases, and this cuts what an attempt costs in memory by
    two thirds. The durations come back exactly.
    """

    number: int
    outcome: str
    category: str | None
    exception_type: str | None
    message: str | None
    # A shared empty tuple until a subtest arrives: most attempts have none.
    subtests: list[Subtest] | tuple[()]
    _shape: tuple[tuple[str, str], ...]
    _durations: bytes
    # A failure's full text: "traceback", "stdout", "stderr", "log" (those pytest captured),
    # each redacted and cut to DETAILS_LIMIT characters; None for attempts that did not fail.
    details: dict[str, str] | None

    def __init__(
        self,
        number: int,
        outcome: str,
        phases: Iterable[Phase] = (),
        category: str | None = None,
        exception_type: str | None = None,
        message: str | None = None,
        subtests: list[Subtest] | tuple[()] = (),
        details: dict[str, str] | None = None,
    ) -> None:
        self.number = number
        self.details = details
        self.outcome = outcome
        self.category = category
        self.exception_type = exception_type
        self.message = message
        self.subtests = subtests
        if phases == ():  # a new attempt, before its first report: the recorder's hot path
            self._shape = ()
            self._durations = b""
            return
        phases = tuple(phases)
        self._shape = _shared_shape(tuple((p.when, p.outcome) for p in phases))
        self._durations = _pack(p.duration for p in phases)

    @property
    def phases(self) -> list[Phase]:
        durations = _unpack(self._durations)
        return [Phase(when, outcome, d) for (when, outcome), d in zip(self._shape, durations)]

    def add_phase(self, when: str, outcome: str, duration: float) -> None:
        # Runs per report: one lookup of the next shared shape, no new tuples once it is known.
        step = (id(self._shape), when, outcome)
        shape = _NEXT_SHAPE.get(step)
        if shape is None:
            current = self._shape = _shared_shape(self._shape)  # in case it was not shared yet
            shape = _NEXT_SHAPE[(id(current), when, outcome)] = _shared_shape((*current, (when, outcome)))
        self._shape = shape
        self._durations += _DOUBLE.pack(duration)

    def phase_dicts(self) -> list[dict[str, Any]]:
        """The phases as plain dicts, without building Phase objects (the report's hot path)."""
        durations = _unpack(self._durations)
        return [
            {"when": when, "outcome": outcome, "duration": d}
            for (when, outcome), d in zip(self._shape, durations)
        ]

    def phase_outcomes(self) -> tuple[tuple[str, str], ...]:
        """(when, outcome) of each phase, without building Phase objects."""
        return self._shape

    @property
    def duration(self) -> float:
        return sum(_unpack(self._durations))

    @property
    def is_defect(self) -> bool:
        return self.outcome in DEFECT_OUTCOMES

    @property
    def failed_subtests(self) -> int:
        return sum(1 for s in self.subtests if s.outcome == "failed")


@dataclass(slots=True)
class TestResult:
    """Everything recorded about one test item (nodeid, parameters included) in one run."""

    __test__ = False  # not a pytest test class, despite its name

    nodeid: str
    attempts: list[Attempt] = field(default_factory=list)
    severity: str = DEFAULT_SEVERITY
    opportunities: int = 1
    stage: str | None = None
    markers: dict[str, Any] | None = None  # None when the test carries none of our markers
    worker: str | None = None
    # RFC 3339 start of the last attempt; kept only for compliance evidence (tests tied to controls).
    started_at: str | None = None

    @property
    def outcome(self) -> str:
        return self.attempts[-1].outcome if self.attempts else "skipped"

    @property
    def is_unit(self) -> bool:
        attempts = self.attempts
        if len(attempts) == 1:  # the common case, without a generator: this runs per test
            return attempts[0].outcome in UNIT_OUTCOMES
        return any(a.outcome in UNIT_OUTCOMES for a in attempts)

    @property
    def first_pass(self) -> bool:
        """True when the first attempt produced no defect."""
        return self.is_unit and not self.attempts[0].is_defect

    @property
    def final_pass(self) -> bool:
        return self.is_unit and not self.attempts[-1].is_defect

    @property
    def flaky(self) -> bool:
        """Failed first, passed on a rerun."""
        if len(self.attempts) < 2:  # the common case, cheaply: runs per test
            return False
        return self.is_unit and not self.first_pass and self.final_pass

    @property
    def category(self) -> str | None:
        return self.attempts[-1].category if self.attempts else None

    @property
    def duration(self) -> float:
        return sum(a.duration for a in self.attempts)



# The phases of a test that passed at once: the shape of nearly every test of a run.
PASSED_SHAPE = _shared_shape((("setup", "passed"), ("call", "passed"), ("teardown", "passed")))


def single_pass_durations(test: TestResult) -> bytes | None:
    """The packed setup, call and teardown durations (three little-endian doubles) of a test
    that passed on its one attempt and has nothing else to say (default severity, no
    category, no exception); None for any other test. The history store keeps such tests
    compactly (``store/packed_tests.py``); this runs once per test when a run is saved."""
    attempts = test.attempts
    if len(attempts) != 1 or test.severity != DEFAULT_SEVERITY:
        return None
    attempt = attempts[0]
    if (
        attempt.outcome != "passed"
        or attempt._shape != PASSED_SHAPE
        or attempt.category is not None
        or attempt.exception_type is not None
    ):
        return None
    return attempt._durations


@dataclass
class GitInfo:
    commit: str | None = None
    branch: str | None = None
    dirty: bool | None = None


@dataclass
class RunInfo:
    """Facts about the run as a whole."""

    id: str
    started_at: str
    finished_at: str | None = None
    duration_s: float | None = None
    exit_status: int | None = None
    interrupted: bool = False
    args: list[str] = field(default_factory=list)
    python: str = ""
    platform: str = ""
    git: GitInfo | None = None
    ci_job_url: str | None = None
    workers: int = 0
    process: str = "pytest"
    deselected: int = 0
    # Collectors that failed to collect: [{"nodeid": ..., "message": ...}], in arrival order.
    collection_errors: list[dict[str, Any]] = field(default_factory=list)
    # Why the run stopped early, when it did and we know (e.g. "SIGTERM").
    interrupt_reason: str | None = None
    # The tox environment the run ran in ($TOX_ENV_NAME), so that history compares like with like.
    environment: str | None = None


def evidence_gaps(run: RunInfo) -> list[str]:
    """Why the run's evidence is incomplete, one sentence each; empty when it is complete.

    A module that failed to collect may have held tests of any control, and an interrupted
    run did not run every test: a reader must know both before trusting what is absent.
    """
    gaps = []
    errors = run.collection_errors
    if errors:
        names = ", ".join(error["nodeid"] for error in errors)
        gaps.append(f"{len(errors)} module{'s' if len(errors) != 1 else ''} failed to collect ({names})")
    if run.interrupted:
        why = f" ({run.interrupt_reason})" if run.interrupt_reason else ""
        gaps.append(f"the run was interrupted{why}: not every test ran")
    return gaps


@dataclass
class OpportunityDefinition:
    """How opportunities per unit were counted; runs are only comparable under the same one."""

    per_unit: int = 1
    subtests_as_opportunities: bool = False
    marker: str = "opportunities"

    def describe(self) -> str:
        text = f"{self.per_unit} per test unless @pytest.mark.{self.marker}(n) says otherwise"
        if self.subtests_as_opportunities:
            text += "; each subtest adds one"
        return text


@dataclass
class RunRecord:
    """One run. Its serialised form is the JSON report: ``report.json_report.build_report``
    writes it and ``record_from_report`` reads it back."""

    run: RunInfo
    tests: list[TestResult] = field(default_factory=list)
    opportunity_definition: OpportunityDefinition = field(default_factory=OpportunityDefinition)
    stages: list[str] | None = None
