"""`interdict model train`: rebuild the offer classifier (nlp/textcat) reproducibly, with its cross-validated
scores in meta.json; `interdict model info`: what the shipped one was trained on and how it scored."""
from __future__ import annotations

import json
from pathlib import Path

import typer

# the Agora development set that ships with the repository (tests/data/README.md)
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "agora-2014-dev.csv"


def register(app: typer.Typer) -> None:
    mo = typer.Typer(help="The trained offer classifier beside the rules (nlp/textcat).", no_args_is_help=True)
    app.add_typer(mo, name="model")

    @mo.command("train")
    def train_cmd(
        data: Path = typer.Option(DEFAULT_DATA, "--data", help="Agora CSV; only development vendors are used "
                                  "(never the frozen slice, nlp/eval_split.py)."),
        out: Path = typer.Option(None, "--out", help="Output directory (default nlp/models/offer_textcat)."),
        seed: int = typer.Option(None, "--seed", help="Random seed (default: [training] seed of nlp/textcat/config.cfg)."),
        no_cv: bool = typer.Option(False, "--no-cv", help="Skip the 5-fold vendor-grouped cross-validation."),
    ) -> None:
        """Cross-validate on the vendor folds, train on every development row plus the knowledge-base
        examples, and write the pipeline (to_disk) with its training-data hash and scores in meta.json."""
        from interdict.cli import fail
        from nlp.evaluate import EvalError
        from nlp.textcat import MODEL_DIR
        from nlp.textcat.cv import write_table
        from nlp.textcat.train import build

        try:
            scores = build(data, out or MODEL_DIR, seed=seed, with_cv=not no_cv)
        except (EvalError, ValueError, OSError) as exc:
            raise fail(str(exc))
        if scores:
            typer.echo(write_table(scores), nl=False)
        typer.echo(f"written {out or MODEL_DIR}")

    @mo.command("info")
    def info_cmd(path: Path = typer.Option(None, "--path", help="Model directory (default nlp/models/offer_textcat).")) -> None:
        """Print the model's meta.json: version, seed, training-data SHA-256, cross-validated scores."""
        from interdict.cli import fail
        from nlp.textcat import MODEL_DIR

        meta = (path or MODEL_DIR) / "meta.json"
        try:
            typer.echo(json.dumps(json.loads(meta.read_text(encoding="utf-8")), indent=2))
        except (OSError, ValueError) as exc:
            raise fail(f"{meta}: {exc}")
