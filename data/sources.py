"""`load_dataset`: one entry point for every dataset source."""

from __future__ import annotations

from pathlib import Path

from data.download import DIGESTS, default_cache_dir
from data.readers import Dataset, DatasetError, check_fraction, read_file, read_folder
from data.travel import generate_travel

BUILT_IN = ("travel",)
DOWNLOADABLE = tuple(DIGESTS)


def load_dataset(source: str, *, seed: int = 0, dev_fraction: float = 0.1) -> Dataset:
    """Load a dataset by name, folder or file.

    Args:
        source: one of
            - "travel": the built-in generated dataset (`generate_travel(seed)`);
            - "atis" or "snips": read from the download cache
              (`$SLOT_RNN_DATA/<name>` or `~/.cache/slot-rnn/<name>`); run
              `python -m data download atis` first;
            - a folder with `train/`, `test/` and optionally `dev/` or `valid/`
              (`seq.in`, `seq.out`, optional `label` in each);
            - a `.conll`/`.bio`/`.iob`/`.txt` column file, or a `.csv`/`.tsv` file
              with `words` and `tags` columns (see `data.readers`).
            These names win over a folder of the same name in the current
            directory: write `./atis` to read such a folder.
        seed: seeds the travel generator and every carved split.
        dev_fraction: share of sentences carved out where a split is missing
            (0 < dev_fraction < 0.5).

    Carved splits:
        - a folder without `dev/`: a seeded `dev_fraction` of train becomes dev;
        - a single file without a `split` column: a seeded `dev_fraction` becomes
          test, another `dev_fraction` dev, the rest train (80/10/10 by default);
        - a CSV/TSV with a `split` column but no dev (or no test) rows: carved from train.
        A folder without `test/` is an error, not carved: a test split is a
        published benchmark and a silently invented one would not compare.

    Raises:
        DatasetError: with one line naming the file and the line at fault.
    """
    check_fraction(dev_fraction)
    source = str(source)
    if source == "travel":
        return generate_travel(seed=seed)
    if source in DOWNLOADABLE:
        folder = default_cache_dir() / source
        if not (folder / "train" / "seq.in").is_file():
            raise DatasetError(
                f"dataset {source!r} is not downloaded yet (looked in {folder}): "
                f"run `python -m data download {source}`"
            )
        return read_folder(folder, seed=seed, dev_fraction=dev_fraction, name=source)
    path = Path(source).expanduser()
    if path.is_dir():
        return read_folder(path, seed=seed, dev_fraction=dev_fraction)
    if path.is_file():
        return read_file(path, seed=seed, dev_fraction=dev_fraction)
    raise DatasetError(
        f"{source}: no such dataset (expected {', '.join(BUILT_IN + DOWNLOADABLE)}, "
        "a dataset folder, or a .conll, .bio, .iob, .txt, .csv or .tsv file)"
    )
