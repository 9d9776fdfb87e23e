"""``enterprise flags list | show | create | update | enable | disable | evaluate |
experiment | log``.

The flag file is ``feature_flags.config_file`` (or ``--file``). Listing and evaluating show the
flags as the active environment sees them (its profile applied; ``--environment`` picks
another). Changes edit the file's base definitions, through the same validation as the Python
API, and each is written to the project's audit log. The file is saved first and the event
recorded second; if the event cannot be recorded, the old file is put back, so a change is
never in the file without being in the log. Each change holds the flag file's edit lock
(``files.edit_lock``: ``.NAME.lock`` beside the file) from reading the file to recording the
event, so concurrent commands apply one after the other and none is lost.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..config import ENVIRONMENTS, EnterpriseConfig
from ..errors import UsageError
from .common import (
    add_config_option,
    add_store_option,
    emit,
    history_location,
    load_config,
    require,
)

FORMATS = ("text", "json")


def add_parser(groups: Any) -> None:
    flags = groups.add_parser("flags", allow_abbrev=False, help="feature flags: list, change, evaluate, experiments")
    commands = flags.add_subparsers(dest="command", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", allow_abbrev=False, help="every flag, as the environment sees it")
    _view_options(listing)
    listing.set_defaults(handler=list_command)

    show = commands.add_parser("show", allow_abbrev=False, help="one flag in full, with profile overrides and recent changes")
    show.add_argument("name")
    _view_options(show)
    add_store_option(show)
    show.set_defaults(handler=show_command)

    create = commands.add_parser("create", allow_abbrev=False, help="define a new flag (audited)")
    create.add_argument("name")
    _field_options(create)
    _change_options(create)
    create.set_defaults(handler=create_command)

    update = commands.add_parser("update", allow_abbrev=False, help="change fields of a flag (audited)")
    update.add_argument("name")
    _field_options(update)
    _change_options(update)
    update.set_defaults(handler=update_command)

    for verb, text in (("enable", "switch a flag on (audited)"), ("disable", "switch a flag off: the kill switch (audited)")):
        command = commands.add_parser(verb, allow_abbrev=False, help=text)
        command.add_argument("name")
        _change_options(command)
        command.set_defaults(handler=toggle_command, verb=verb)

    evaluate = commands.add_parser("evaluate", allow_abbrev=False, help="what a user gets, and why")
    evaluate.add_argument("name")
    evaluate.add_argument("--user", metavar="ID", help="the user id (stickiness key)")
    evaluate.add_argument("--group", action="append", default=[], metavar="NAME", help="a group the user is in (repeatable)")
    _view_options(evaluate)
    evaluate.set_defaults(handler=evaluate_command)

    experiment = commands.add_parser("experiment", allow_abbrev=False, help="A/B statistics of a flag's recorded events")
    experiment.add_argument("name")
    experiment.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    experiment.add_argument("--correction", choices=("holm", "bh", "none"), default="holm", help="multiple-comparison correction")
    experiment.add_argument("--mde", type=float, metavar="EFFECT", help="minimum detectable effect: also report the sample size needed")
    experiment.add_argument("--power", type=float, default=0.8, help="power for --mde (default 0.8)")
    experiment.add_argument("--output", metavar="FILE", help="write here (atomically) instead of stdout")
    _view_options(experiment)
    add_store_option(experiment)
    experiment.set_defaults(handler=experiment_command)

    log = commands.add_parser("log", allow_abbrev=False, help="the audit log of flag changes, with its hash chain checked")
    log.add_argument("name", nargs="?", help="only this flag")
    log.add_argument("--format", choices=FORMATS, default="text")
    # --file as every flags command takes it; here it marks the logged flags the file no longer defines.
    _file_options(log)
    add_store_option(log)
    log.set_defaults(handler=log_command)


def _file_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", metavar="PATH", help="flag file (default: feature_flags.config_file)")
    add_config_option(parser)


def _view_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--environment", choices=ENVIRONMENTS, help="whose profile to apply (default: the config's)")
    parser.add_argument("--format", choices=FORMATS, default="text")
    _file_options(parser)


def _change_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--actor", help="who makes the change (default: $ENTERPRISE_ACTOR, else the login name)")
    parser.add_argument("--reason", help="why: kept in the audit log")
    _file_options(parser)
    add_store_option(parser)


def _field_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--description")
    parser.add_argument("--status", help="enabled, disabled, rollout, ab_test or deprecated")
    parser.add_argument("--strategy", help="all_users, percentage, user_list, gradual or canary")
    parser.add_argument("--rollout", type=float, metavar="PCT", help="rollout percentage, 0-100")
    parser.add_argument("--users", metavar="A,B", help="user ids for the user_list strategy (comma-separated)")
    parser.add_argument("--groups", metavar="A,B", help="groups for the user_list strategy (comma-separated)")
    parser.add_argument("--owner")
    parser.add_argument("--tags", metavar="A,B", help="comma-separated")
    parser.add_argument("--variant", action="append", metavar="NAME[:WEIGHT]", help="a variant (repeatable; replaces the list)")
    parser.add_argument("--prerequisite", action="append", metavar="FLAG", help="a flag that must be on (repeatable; replaces the list)")
    parser.add_argument("--expires", metavar="DATE", help="expiry date, YYYY-MM-DD: reported stale after it")


# -- reading ------------------------------------------------------------------------------


def _flag_file_path(options: argparse.Namespace, config: EnterpriseConfig) -> Path:
    from ..flags.project import flag_file_path

    if options.file:
        return Path(options.file)
    path = flag_file_path(config)
    require(path is not None, "no flag file: set feature_flags.config_file in the config, or pass --file PATH")
    return path  # type: ignore[return-value]


def _environment(options: argparse.Namespace, config: EnterpriseConfig) -> str:
    return options.environment or config.environment


def _effective(options: argparse.Namespace) -> tuple[EnterpriseConfig, Any, dict[str, Any]]:
    from ..flags.flagfile import load_flag_file

    config = load_config(options)
    flag_file = load_flag_file(_flag_file_path(options, config))
    return config, flag_file, flag_file.flags(_environment(options, config))


def _known(flags: dict[str, Any], name: str) -> Any:
    from ..flags.manager import UnknownFlagError
    from ..flags.model import did_you_mean

    if name not in flags:
        raise UnknownFlagError(f"unknown flag {name!r}{did_you_mean(name, flags)}")
    return flags[name]


def list_command(options: argparse.Namespace, extra: list[str]) -> int:
    config, flag_file, flags = _effective(options)
    environment = _environment(options, config)
    if options.format == "json":
        data = {"environment": environment, "file": str(flag_file.path), "flags": {n: f.to_dict() for n, f in flags.items()}}
        emit(json.dumps(data, indent=2) + "\n", None)
        return 0
    from tabulate import tabulate

    rows = [
        (
            name,
            flag.status.value,
            flag.strategy.value,
            _percentage(flag),
            "/".join(flag.variant_names),
            flag.owner or "",
            _date(flag.expires_at),
            ", ".join(flag_file.overridden_fields(name, environment)),
        )
        for name, flag in flags.items()
    ]
    headers = ("flag", "status", "strategy", "rollout", "values", "owner", "expires", f"{environment} overrides")
    emit(f"{flag_file.path} ({environment}): {len(flags)} flags\n" + tabulate(rows, headers=headers) + "\n", None)
    return 0


def _percentage(flag: Any) -> str:
    from ..flags.model import RolloutStrategy

    if flag.strategy in (RolloutStrategy.PERCENTAGE, RolloutStrategy.CANARY, RolloutStrategy.GRADUAL):
        return f"{flag.rollout_percentage:g}%"
    return ""


def _date(moment: Any) -> str:
    return "" if moment is None else moment.date().isoformat()


def show_command(options: argparse.Namespace, extra: list[str]) -> int:
    config, flag_file, flags = _effective(options)
    environment = _environment(options, config)
    flag = _known(flags, options.name)
    events = _audit(options, config).events("flag", flag.name)[-5:]
    data = {
        "name": flag.name,
        "environment": environment,
        "definition": flag.to_dict(),
        "values": list(flag.variant_names),
        "overridden_in_profile": list(flag_file.overridden_fields(flag.name, environment)),
        "recent_changes": [_event_dict(event) for event in events],
    }
    if options.format == "json":
        emit(json.dumps(data, indent=2) + "\n", None)
        return 0
    lines = [f"{flag.name} ({environment})"]
    lines += [f"  {key}: {json.dumps(value)}" for key, value in data["definition"].items()]
    lines.append(f"  values: {', '.join(flag.variant_names)}")
    if data["overridden_in_profile"]:
        lines.append(f"  profile {environment} overrides: {', '.join(data['overridden_in_profile'])}")
    if events:
        lines.append("  recent changes:")
        lines += [f"    {e.recorded_at} {e.actor}: {e.action}{' - ' + e.reason if e.reason else ''}" for e in events]
    emit("\n".join(lines) + "\n", None)
    return 0


def _audit(options: argparse.Namespace, config: EnterpriseConfig) -> Any:
    from ..audit import StoreAuditLog

    return StoreAuditLog(history_location(options, config))


def _event_dict(event: Any) -> dict[str, Any]:
    return {
        "recorded_at": event.recorded_at,
        "actor": event.actor,
        "flag": event.subject,
        "action": event.action,
        "before": None if event.before_json is None else json.loads(event.before_json),
        "after": None if event.after_json is None else json.loads(event.after_json),
        "reason": event.reason,
        "hash": event.hash,
    }


# -- changing -----------------------------------------------------------------------------


def _fields(options: argparse.Namespace) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for option, name in (("description", "description"), ("status", "status"), ("strategy", "strategy"), ("owner", "owner")):
        if getattr(options, option) is not None:
            fields[name] = getattr(options, option)
    if options.rollout is not None:
        fields["rollout_percentage"] = options.rollout
    for option in ("users", "groups", "tags"):
        if getattr(options, option) is not None:
            fields[option] = [item.strip() for item in getattr(options, option).split(",") if item.strip()]
    if options.variant:
        fields["variants"] = [_variant(text) for text in options.variant]
    if options.prerequisite:
        fields["prerequisites"] = list(options.prerequisite)
    if options.expires is not None:
        fields["expires_at"] = options.expires
    return fields


def _variant(text: str) -> dict[str, Any]:
    name, _, weight = text.partition(":")
    if not weight:
        return {"name": name}
    try:
        return {"name": name, "weight": float(weight) if "." in weight else int(weight)}
    except ValueError:
        raise UsageError(f"--variant {text!r}: the weight after ':' must be a number") from None


def _change(options: argparse.Namespace, apply: Any) -> int:
    """Run ``apply(manager)`` on the file's base flags, save the file, record the audit.

    The whole read-modify-write-audit runs under the flag file's edit lock, so two commands
    never both change the file they read (the second reads what the first saved), and the
    file and the audit log hold the same changes in the same order."""
    from ..files import edit_lock

    config = load_config(options)
    path = _flag_file_path(options, config)
    with edit_lock(path, what="flag file", create_folder=options.command == "create"):
        recorded, flag_file = _change_locked(options, config, path, apply)
    environment = config.environment
    for event in recorded:
        _say_changed(event, flag_file, environment)
    if not recorded:
        print(f"{options.name}: unchanged")
    return 0


def _change_locked(options: argparse.Namespace, config: EnterpriseConfig, path: Path, apply: Any) -> tuple[list[Any], Any]:
    import os

    from ..audit import MemoryAuditLog
    from ..flags.flagfile import load_flag_file, new_flag_file
    from ..flags.manager import FlagManager

    creating = options.command == "create" and not path.exists()
    flag_file = new_flag_file(path) if creating else load_flag_file(path)
    staged = MemoryAuditLog()
    manager = FlagManager(flag_file.flags(None).values(), audit=staged, actor=options.actor)
    apply(manager, options, config)
    events = staged.events()
    if not events:
        return [], flag_file
    old = None if creating else path.read_bytes()
    for name in dict.fromkeys(event.subject for event in events):  # in the order they changed
        flag = manager.flags.get(name)
        if flag is None:
            flag_file.remove(name)
        else:
            flag_file.put(flag)
    flag_file.save(path)
    audit = _audit(options, config)
    try:
        return [audit.record(event) for event in events], flag_file
    except BaseException:
        if old is None:
            os.unlink(os.path.realpath(path))  # the file we created (through a dangling link)
        else:
            from ..files import write_bytes_atomic

            write_bytes_atomic(path, old, what="flag file")
        raise


def _say_changed(event: Any, flag_file: Any, environment: str) -> None:
    before = json.loads(event.before_json) if event.before_json else {}
    after = json.loads(event.after_json) if event.after_json else {}
    changed = [key for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]
    detail = ", ".join(f"{key} {_shown(before.get(key))} -> {_shown(after.get(key))}" for key in changed)
    print(f"{event.subject}: {event.action} by {event.actor}: {detail or 'no field changed'}")
    shadowed = [key for key in changed if key in flag_file.overridden_fields(event.subject, environment)] if after else []
    if shadowed:
        print(f"note: profile {environment!r} overrides {', '.join(shadowed)}; {environment} still sees its own value")


def _shown(value: Any) -> str:
    return "unset" if value is None else json.dumps(value)


def create_command(options: argparse.Namespace, extra: list[str]) -> int:
    fields = _fields(options)

    def apply(manager: Any, options: argparse.Namespace, config: EnterpriseConfig) -> None:
        if options.name in manager.flags:  # the manager's message names its Python method
            raise UsageError(f"flag {options.name!r} already exists; change it with 'enterprise flags update {options.name}'")
        manager.create_flag(options.name, reason=options.reason, **fields)

    return _change(options, apply)


def update_command(options: argparse.Namespace, extra: list[str]) -> int:
    fields = _fields(options)
    require(bool(fields), "nothing to change: give at least one field option, e.g. --rollout 50")
    return _change(options, lambda manager, options, config: manager.update_flag(options.name, reason=options.reason, **fields))


def toggle_command(options: argparse.Namespace, extra: list[str]) -> int:
    if options.verb == "disable":
        return _change(options, lambda manager, options, config: manager.disable(options.name, reason=options.reason))

    def enable(manager: Any, options: argparse.Namespace, config: EnterpriseConfig) -> None:
        from ..flags.manager import previous_serving_status

        # The staged manager has no history: the status to resume comes from the project's
        # log, read under the edit lock like the file, so a concurrent disable is seen.
        history = _audit(options, config).events("flag", options.name)
        status = previous_serving_status(history) or "enabled"
        manager.enable(options.name, reason=options.reason, status=status)

    return _change(options, enable)


# -- evaluating ---------------------------------------------------------------------------


def evaluate_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..flags.explain import explain

    config, _flag_file, flags = _effective(options)
    flag = _known(flags, options.name)
    context = {"groups": options.group} if options.group else None
    answer = explain(flag, flags, options.user, context)
    answer["environment"] = _environment(options, config)
    if options.format == "json":
        emit(json.dumps(answer, indent=2) + "\n", None)
        return 0
    state = "on" if answer["enabled"] else "off"
    who = f"user {options.user!r}" if options.user is not None else "no user"
    emit(f"{flag.name} for {who} ({answer['environment']}): {state}, value {answer['value']!r}\n"
         f"  why: {answer['reason']}\n", None)  # fmt: skip
    return 0


def experiment_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..flags.manager import FlagManager

    config, _flag_file, flags = _effective(options)
    flag = _known(flags, options.name)
    manager = FlagManager([flag] + [flags[p.flag] for p in flag.prerequisites], store_path=history_location(options, config))
    result = manager.experiment_results(
        flag.name,
        alpha=options.alpha,
        correction=options.correction,
        minimum_detectable_effect=options.mde,
        power=options.power,
    )
    if options.format == "json":
        text = json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n"
    else:
        text = result.render_text()
        text = text if text.endswith("\n") else text + "\n"
    emit(text, options.output)
    return 0


def log_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..audit import verify_chain

    config = load_config(options)
    defined = None  # with --file: the flags that file defines
    if options.file:
        from ..flags.flagfile import load_flag_file

        defined = set(load_flag_file(options.file).flags(None))
    audit = _audit(options, config)
    everything = audit.events()
    problems = verify_chain(everything)
    events = [e for e in everything if e.kind == "flag" and (options.name is None or e.subject == options.name)]
    if options.format == "json":
        listed = [_event_dict(e) for e in events]
        if defined is not None:
            for item in listed:
                item["in_file"] = item["flag"] in defined
        data = {"chain_intact": not problems, "problems": problems, "events": listed}
        if defined is not None:
            data["flag_file"] = options.file
        emit(json.dumps(data, indent=2) + "\n", None)
    else:
        gone = f" (not in {options.file})"
        lines = [
            f"{e.recorded_at} {e.actor} {e.action} {e.subject}{': ' + e.reason if e.reason else ''}"
            f"{gone if defined is not None and e.subject not in defined else ''}"
            for e in events
        ]
        if not events:
            lines.append("no flag changes recorded")
        lines.append("audit chain: intact" if not problems else "audit chain BROKEN: " + "; ".join(problems))
        emit("\n".join(lines) + "\n", None)
    return 0 if not problems else 1
