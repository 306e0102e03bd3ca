"""Pretrained word vectors in the GloVe / word2vec text format.

One word per line followed by its numbers, separated by spaces; a word2vec
file may start with a header line `count dimension`:

    the 0.418 0.24968 -0.41242 ...
    taipei -0.1213 0.5521 0.0913 ...

`read_word_vectors(path, encoder)` returns a matrix with one row per word id
of the encoder (rows of words the file lacks, and of PAD and OTHER, stay
zero) and how many vocabulary words the file covered. It reads the file
once, keeps only the encoder's words, and never unpickles anything.
"""

from pathlib import Path

from data.readers import DatasetError


def read_word_vectors(path, encoder):
    """Reads a text vector file for the words of a fitted `data.Encoder`.

    Returns `(matrix, found)`: a float32 array `(encoder.word_vocabulary_size,
    dimension)` and the number of vocabulary words found. A file word is
    matched after the encoder's own normalisation (lower-casing, digits), the
    first occurrence winning. Raises `DatasetError` naming the file and line
    for a ragged or non-numeric line, and for a file with no vectors at all.
    """
    import numpy as np  # imported here so that `import data` stays light

    path = Path(path)
    word_ids = {word: index for index, word in enumerate(encoder.words) if index >= 2}
    rows = {}
    dimension = None
    if path.exists() and not path.is_file() and not path.is_dir():
        raise DatasetError(f"{path}: not a regular file")  # a pipe or a device could block or never end
    try:
        handle = open(path, encoding="utf-8")
    except OSError as error:
        raise DatasetError(f"{path}: cannot be read ({error.strerror or error})") from None
    with handle:
        try:
            for number, line in enumerate(handle, start=1):
                parts = line.rstrip("\r\n").rstrip().split(" ")
                if number == 1 and len(parts) == 2 and all(part.isdigit() for part in parts):
                    continue  # word2vec header: count dimension
                if len(parts) < 2 or not parts[0]:
                    if not line.strip():
                        continue
                    raise DatasetError(f"{path} line {number}: expected a word followed by numbers")
                if dimension is None:
                    dimension = len(parts) - 1
                elif len(parts) - 1 != dimension:
                    raise DatasetError(f"{path} line {number}: {len(parts) - 1} numbers, expected {dimension}")
                index = word_ids.get(encoder.normalize(parts[0]))
                if index is None or index in rows:
                    continue
                try:
                    rows[index] = np.asarray(parts[1:], dtype=np.float32)
                except ValueError:
                    raise DatasetError(f"{path} line {number}: a value is not a number") from None
                if not np.isfinite(rows[index]).all():
                    raise DatasetError(f"{path} line {number}: a value is not a finite number")
        except UnicodeDecodeError:
            raise DatasetError(f"{path}: not UTF-8 text") from None
    if dimension is None:
        raise DatasetError(f"{path}: holds no word vectors")
    matrix = np.zeros((encoder.word_vocabulary_size, dimension), dtype=np.float32)
    for index, vector in rows.items():
        matrix[index] = vector
    return matrix, len(rows)
