"""CSV and TSV files: one sentence a row, under a header.

    words,tags,intent,split
    show me flights to boston,O O O O B-toloc.city_name,atis_flight,train

becomes `words == ["show", "me", "flights", "to", "boston"]`, `tags == ["O", "O",
"O", "O", "B-toloc.city_name"]` and the intent `"atis_flight"`, in train. The
`csv` module reads them, not pandas: pandas would read the words `NA`, `null`
or `nan` as missing values.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from data.readers import SPLIT_NAMES, DatasetError, Split, check_tag, quoted, read_text_lines

# Header names of the words and tags fields of a CSV/TSV file, first found wins
# (MultiATIS++ ships `id, utterance, slot_labels, intent`).
HEADER_NAMES = {"words": ("words", "utterance", "tokens"), "tags": ("tags", "slot_labels", "slots")}


def read_table_file(path: Path, display: str, columns=None) -> dict[str, Split]:
    """A CSV (or TSV) file with `words` and `tags` columns (or `utterance`, `slot_labels`); returns its splits by name.

    Without a `split` column every row belongs to `"all"`. `columns` (a
    `data.columns.ColumnSpec`) picks the words, tags and intent fields by
    number, counted from 1, whatever the header calls them: `word=2,tag=3,intent=4`
    reads a header `id,utterance,slot_labels,intent`.
    """
    lines = read_text_lines(path, display)
    delimiter = "\t" if Path(path).suffix.lower() == ".tsv" else ","
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO("\n".join(lines) + "\n", newline=""), delimiter=delimiter, quoting=quoting)
    try:
        header = [column.strip().lower() for column in next(reader)]
    except csv.Error as error:
        raise DatasetError(f"{display} line 1: {error}") from None
    if columns is None:
        found = {}
        for required, names in HEADER_NAMES.items():
            found[required] = next((name for name in names if name in header), None)
            if found[required] is None:
                shown = quoted(", ".join(header), 120)[1:-1]
                raise DatasetError(
                    f"{display} line 1: no {required!r} column (the header has: {shown or 'nothing'}); "
                    "or choose fields with --columns word=N,tag=N[,intent=N]"
                )
        intent_column = next((column for column in ("intent", "label") if column in header), None)
        positions = {
            "words": header.index(found["words"]),
            "tags": header.index(found["tags"]),
            "intent": header.index(intent_column) if intent_column else None,
        }
    else:
        for _, number in columns.items():
            if number > len(header):
                raise DatasetError(
                    f"{display} line 1: the header has {len(header)} fields, but columns {columns} names field {number}"
                )
        intent_column = None if columns.intent is None else header[columns.intent - 1]
        positions = {
            "words": columns.word - 1,
            "tags": columns.tag - 1,
            "intent": None if columns.intent is None else columns.intent - 1,
        }
    positions["split"] = header.index("split") if "split" in header else None
    rows: dict[str, list[tuple[list[str], list[str], str | None]]] = {}
    last_line = reader.line_num
    while True:
        number = last_line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise DatasetError(f"{display} line {number}: {error}") from None
        last_line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            raise DatasetError(f"{display} line {number}: {len(row)} fields, the header has {len(header)}")
        sentence = row[positions["words"]].split()
        sentence_tags = row[positions["tags"]].split()
        if not sentence:
            raise DatasetError(f"{display} line {number}: empty 'words' field")
        if len(sentence_tags) != len(sentence):
            raise DatasetError(f"{display} line {number}: {len(sentence_tags)} tags for {len(sentence)} words")
        for position, tag in enumerate(sentence_tags, start=1):
            check_tag(tag, display, number, position)
        intent = None
        if positions["intent"] is not None:
            intent = row[positions["intent"]].strip()
            if not intent:
                raise DatasetError(f"{display} line {number}: empty {quoted(intent_column)} field")
        split_name = "all"
        if positions["split"] is not None:
            split_name = row[positions["split"]].strip().lower()
            split_name = "dev" if split_name == "valid" else split_name
            if split_name not in SPLIT_NAMES:
                raise DatasetError(
                    f"{display} line {number}: split {quoted(row[positions['split']])} is not train, dev, valid or test"
                )
        rows.setdefault(split_name, []).append((sentence, sentence_tags, intent))
    if not rows:
        raise DatasetError(f"{display} line 2: no sentences after the header")
    return {
        split_name: Split(
            words=[row[0] for row in split_rows],
            tags=[row[1] for row in split_rows],
            intents=None if intent_column is None else [row[2] for row in split_rows],
        )
        for split_name, split_rows in rows.items()
    }
