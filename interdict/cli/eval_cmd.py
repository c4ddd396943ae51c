"""`interdict eval agora FILE`: detection quality on Agora 2014 titles (flag P/R/F1/FP rate, class and
substance accuracy, substance precision), per vendor-grouped fold with mean and spread, plus the misses;
`--frozen` scores the frozen vendor slice instead and prints no listing of it. The category mapping is
nlp/data/agora_mapping.yaml; the splits are nlp/eval_split.py."""
from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    ev = typer.Typer(help="Measure detection quality on labelled data.", no_args_is_help=True)
    app.add_typer(ev, name="eval")

    @ev.command("agora")
    def agora(
        path: Path = typer.Argument(..., help="Agora CSV (id,vendor,title,cat,subcat,subsubcat,...)."),
        misses: int = typer.Option(40, "--misses", "-n", min=0, help="How many misses of each kind to print."),
        fields: str = typer.Option("title", "--fields", help="Fields to analyze: title or title,description."),
        as_json: bool = typer.Option(False, "--json", help="Print the figures as one JSON object."),
        config: Path = typer.Option(None, "--config", help="Pipeline config (default: the shipped nlp/nlp.cfg)."),
        frozen: bool = typer.Option(False, "--frozen", help="Score the frozen 20% vendor slice (figures only, "
                                    "no listings: nobody tuning rules looks at it)."),
    ) -> None:
        """Flag precision/recall/F1/FP rate (Drugs/* against non-drug categories), class and substance
        accuracy, substance precision: vendor-grouped 5-fold figures (mean ± spread) on the development
        vendors, or the frozen slice with --frozen."""
        from interdict.cli import fail
        from nlp.analyze import Analyzer
        from nlp.evaluate import CV_METRICS, EvalError, evaluate

        wanted = tuple(f.strip() for f in fields.split(",") if f.strip())
        bad = [f for f in wanted if f not in ("title", "description")]
        if bad or not wanted:
            raise fail(f"--fields: unknown field(s) {', '.join(bad) or '(none)'}; use title and/or description")
        try:
            report = evaluate(path, Analyzer(config_path=config), fields=wanted,
                              part="frozen" if frozen else "dev")
        except (EvalError, ValueError, OSError) as exc:
            raise fail(str(exc))
        s = report.summary()
        if as_json:
            typer.echo(json.dumps(s))
            return
        f = s["flag"]
        typer.echo(f"{report.part} vendors: rows {s['rows']} (scored {s['scored']}), fields: {','.join(wanted)}")
        typer.echo(f"flag      precision {f['precision']:.4f}  recall {f['recall']:.4f}  F1 {f['f1']:.4f}"
                   f"  FP rate {f['fp_rate']:.4f}"
                   f"   (tp {f['tp']} fp {f['fp']} fn {f['fn']} tn {f['tn']})")
        typer.echo(f"class     accuracy  {s['class_accuracy']:.4f}  over {s['class_scored']} rows")
        typer.echo(f"substance accuracy  {s['substance_accuracy']:.4f}  over {s['substance_scored']} rows,"
                   f" precision {s['substance_precision']:.4f} over {s['substances_reported']} reported")
        if report.folds:
            typer.echo(f"\nvendor-grouped {len(report.folds)}-fold figures, mean ± spread (sample std):")
            for name, (mean, spread) in ((m, report.cv(m)) for m in CV_METRICS):
                typer.echo(f"  {name:<20} {mean:.4f} ± {spread:.4f}")
        if frozen:
            return                # the frozen slice's listings are never shown
        for kind in ("false_negative", "false_positive", "wrong_class", "wrong_substance"):
            ms = [m for m in report.misses if m.kind == kind]
            if not ms or not misses:
                continue
            typer.echo(f"\n{kind} ({len(ms)}), first {min(misses, len(ms))}:")
            for m in ms[:misses]:
                typer.echo(f"  [{m.category}] {m.title!r}: expected {m.expected}, got {m.got}")
