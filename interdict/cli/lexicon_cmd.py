"""`interdict lexicon check|stats`: validate the substance knowledge base and show what it covers."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Optional

import typer

lexicon = typer.Typer(help="Check and describe the substance knowledge base (nlp/data/substances.csv).",
                      no_args_is_help=True)

PathOpt = typer.Option(None, "--path", help="CSV file to check instead of the shipped knowledge base.")


def _stats_lines(kb) -> list[str]:
    forms = kb.forms
    by_via = Counter(f.via for f in forms)
    by_lang = Counter(f.lang or "-" for f in forms)
    classes = Counter(s.cls for s in kb.substances.values())
    controls = Counter(c for s in kb.substances.values() for c in s.controls)
    uncontrolled = sum(1 for s in kb.substances.values() if not s.controls)
    ambiguous = sum(1 for f in forms if f.ambiguous)
    lines = [
        f"substances: {len(kb.substances)}",
        f"surface forms: {len(forms)} ({ambiguous} need context)",
        "  by via: " + ", ".join(f"{k} {v}" for k, v in by_via.most_common()),
        "  by lang: " + ", ".join(f"{k} {v}" for k, v in by_lang.most_common()),
        f"CAS numbers: {len(kb.by_cas)}",
        "classes: " + ", ".join(f"{k} {v}" for k, v in classes.most_common()),
        "controls: " + ", ".join(f"{k} {v}" for k, v in sorted(controls.items()))
        + f", none {uncontrolled}",
    ]
    return lines


@lexicon.command("check")
def check(path: Optional[Path] = PathOpt) -> None:
    """Fail (exit 1) on a bad CAS check digit, an unmarked shared surface form, an unknown class or regime."""
    from nlp.kb import check_kb, load_kb

    problems = check_kb(path)
    if problems:
        for p in problems:
            typer.echo(p)
        typer.echo(f"{len(problems)} problem(s)", err=True)
        raise typer.Exit(1)
    for line in _stats_lines(load_kb(path)):
        typer.echo(line)
    typer.echo("ok")


@lexicon.command("stats")
def stats(path: Optional[Path] = PathOpt,
          cls: Optional[str] = typer.Option(None, "--class", help="List the substances of one class."),
          ) -> None:
    """Counts by class, control and language; with --class, the substances of that class."""
    from nlp.kb import CLASSES, KBError, load_kb

    try:
        kb = load_kb(path)
    except KBError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    if cls:
        if cls not in CLASSES:
            typer.echo(f"error: --class: unknown class {cls!r} (one of {', '.join(CLASSES)})", err=True)
            raise typer.Exit(2)
        n_forms = Counter(f.substance_id for f in kb.forms)
        for s in sorted(kb.substances.values(), key=lambda s: s.canonical.lower()):
            if s.cls == cls:
                typer.echo(f"{s.id}\t{s.canonical}\t{'|'.join(s.controls) or '-'}\t{n_forms[s.id]} forms")
        return
    for line in _stats_lines(kb):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    app.add_typer(lexicon, name="lexicon")
