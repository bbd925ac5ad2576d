"""Reading operator files (CSV or Parquet) into Arrow, raw, with their line numbers.

Every value is read as text: typing and checking happen in the loader so that a
bad value becomes a quarantined row with its reason, never a failed cast of a
whole column. Each data row keeps the physical line number where it starts in
the source file (the header is line 1), which is what an operator sees in an
editor; for Parquet it is the 1-based row number.

Encoding: a CSV file is UTF-8 (a byte-order mark is allowed) or GB18030/GBK.
Without a declared encoding, a file that is not strictly valid UTF-8 is read as
GB18030 (a superset of GBK); one that is neither is refused.

Line numbers are found without a per-row loop: newline positions outside
quotes (quote parity, ``""`` escapes keep it even) end records. When that
simple view disagrees with the CSV parser (a stray quote inside an unquoted
value), the file is re-scanned with Python's ``csv`` module, slower but exact.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tenure.domain.errors import LoadError

ENCODINGS = ("utf-8", "gbk", "gb18030")
NEWLINE, QUOTE, COMMA, CR = 10, 34, 44, 13
BLOCK_SIZE = 16 << 20


@dataclass
class BadRecord:
    """A CSV record the parser could not split into the header's columns."""

    line: int
    fields: list[str]
    reason: str


@dataclass
class SourceTable:
    """One source file as text columns, with the line each row starts on."""

    path: Path
    format: str  # "csv" or "parquet"
    encoding: str | None
    columns: list[str]  # header names, trimmed and lower-cased, in file order
    data: pa.Table  # one string column per header name
    lines: np.ndarray  # int64, one per row of ``data``
    bad_records: list[BadRecord] = field(default_factory=list)

    @property
    def read(self) -> int:
        """Data records in the file (rows plus records with a wrong field count)."""
        return self.data.num_rows + len(self.bad_records)


def read_source(path: Path, encoding: str | None = None, allow_empty: bool = False) -> SourceTable:
    """Read a ``.csv`` or ``.parquet`` file; LoadError for whole-file problems.

    ``allow_empty`` accepts a file with a header and no rows: a month can
    legitimately have no complaints or no groups, but never no subscribers.
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise LoadError(
            f"{path}: empty file (0 bytes); export the table again, or remove the file if the table is optional"
        )
    if path.suffix.lower() == ".parquet":
        return _read_parquet(path, allow_empty)
    return _read_csv(path, encoding, allow_empty)


# -- encoding ------------------------------------------------------------------
def decode_to_utf8(raw: bytes, path: Path, encoding: str | None) -> tuple[bytes, str]:
    """Return the file as UTF-8 bytes (no BOM) and the encoding it was read with."""
    if encoding is not None:
        encoding = encoding.lower().replace("_", "-")
        if encoding not in ENCODINGS:
            raise LoadError(f"unknown encoding {encoding!r}; use one of {', '.join(ENCODINGS)}")
    bom = raw.startswith(codecs.BOM_UTF8)
    if encoding in (None, "utf-8"):
        body = raw[len(codecs.BOM_UTF8) :] if bom else raw
        try:
            body.decode("utf-8")
            return body, "utf-8-sig" if bom else "utf-8"
        except UnicodeDecodeError as exc:
            if encoding == "utf-8":
                raise LoadError(
                    f"{path}: not valid UTF-8 (byte {exc.start}); re-export it as UTF-8 or load with --encoding gb18030"
                ) from None
    codec = encoding or "gb18030"
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        tried = codec if encoding else "UTF-8 or GB18030"
        raise LoadError(
            f"{path}: cannot be decoded as {tried} (byte {exc.start}); re-export it as UTF-8"
            + ("" if encoding else " or name its encoding with --encoding")
        ) from None
    return text.encode("utf-8"), codec


# -- CSV -----------------------------------------------------------------------
def _read_csv(path: Path, encoding: str | None, allow_empty: bool = False) -> SourceTable:
    data, used = decode_to_utf8(path.read_bytes(), path, encoding)
    buf = np.frombuffer(data, dtype=np.uint8)
    starts, ends, start_lines = _records(buf) if len(buf) else (np.empty(0),) * 3
    if len(starts) == 0:
        raise LoadError(f"{path}: empty file (only blank lines); export the table again")
    header_text = data[starts[0] : ends[0]].decode("utf-8").rstrip("\r")
    raw_names = next(csv.reader([header_text]))
    columns = [n.strip().lower() for n in raw_names]
    _check_header(path, columns)
    if len(starts) == 1 and not allow_empty:
        raise LoadError(f"{path}: header only, no data rows; export the table with its rows")

    skipped: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        skipped.append(row.actual_columns)
        return "skip"

    has_quotes = bool((buf == QUOTE).any())
    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(use_threads=True, block_size=BLOCK_SIZE),
        parse_options=pacsv.ParseOptions(
            newlines_in_values=has_quotes, invalid_row_handler=on_invalid
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in raw_names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            check_utf8=False,
        ),
    )
    table = table.rename_columns(columns)
    ncols = len(columns)

    rec_starts, rec_ends, rec_lines = starts[1:], ends[1:], start_lines[1:]
    counts: np.ndarray | None = None
    aligned = len(rec_starts) == table.num_rows + len(skipped)
    if aligned and skipped:
        counts = _field_counts(buf, rec_starts, has_quotes)
        aligned = int((counts != ncols).sum()) == len(skipped)
    if not aligned or (has_quotes and _odd_quotes(buf)):
        rec_lines, counts, texts = _scan_with_csv_module(path, data)
        if len(rec_lines) != table.num_rows + len(skipped) or int((counts != ncols).sum()) != len(
            skipped
        ):
            raise LoadError(
                f"{path}: rows could not be lined up with the file's lines (stray quote characters?); "
                "quote values that contain quotes, commas or line breaks"
            )
    else:
        texts = None

    bad_records: list[BadRecord] = []
    lines = rec_lines
    if skipped:
        assert counts is not None
        bad = counts != ncols
        if bad[-1] and counts[-1] < ncols:
            raise LoadError(
                f"{path}: last line {int(rec_lines[-1])} is truncated ({int(counts[-1])} of {ncols} fields); "
                "the file was cut off, copy or export it again"
            )
        for i in np.flatnonzero(bad):
            text = (
                texts[i]
                if texts is not None
                else data[rec_starts[i] : rec_ends[i]].decode("utf-8").rstrip("\r")
            )
            fields_ = next(csv.reader(io.StringIO(text)), [])
            bad_records.append(
                BadRecord(
                    int(rec_lines[i]), fields_, f"expected {ncols} fields, found {int(counts[i])}"
                )
            )
        lines = rec_lines[~bad]
    return SourceTable(
        path, "csv", used, columns, table, np.asarray(lines, dtype=np.int64), bad_records
    )


def _check_header(path: Path, columns: list[str]) -> None:
    if any(not c for c in columns):
        pos = [i + 1 for i, c in enumerate(columns) if not c]
        raise LoadError(
            f"{path}: header has unnamed column(s) at position {pos}; name every column or remove it"
        )
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise LoadError(f"{path}: header repeats column(s) {', '.join(dupes)}; keep one of each")


def _odd_quotes(buf: np.ndarray) -> bool:
    return int(np.count_nonzero(buf == QUOTE)) % 2 == 1


def _records(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Byte ranges and first physical line of each non-blank record."""
    newlines = np.flatnonzero(buf == NEWLINE)
    quotes = np.flatnonzero(buf == QUOTE)
    if len(quotes):
        # A newline ends a record only outside quotes: an even number of quotes before it.
        terms = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
    else:
        terms = newlines
    n = len(buf)
    starts = np.concatenate(([0], terms + 1))
    ends = np.concatenate((terms, [n]))
    length = ends - starts
    # Blank records (empty or a lone CR of a CRLF file) are skipped by the parser too.
    blank = (length == 0) | ((length == 1) & (buf[np.minimum(starts, n - 1)] == CR))
    keep = ~blank
    starts, ends = starts[keep], ends[keep]
    lines = np.searchsorted(newlines, starts) + 1
    return starts, ends, lines.astype(np.int64)


def _field_counts(buf: np.ndarray, starts: np.ndarray, has_quotes: bool) -> np.ndarray:
    """Fields per record: separators outside quotes, plus one."""
    commas = np.flatnonzero(buf == COMMA)
    if has_quotes:
        quotes = np.flatnonzero(buf == QUOTE)
        commas = commas[np.searchsorted(quotes, commas) % 2 == 0]
    commas = commas[commas >= starts[0]] if len(starts) else commas
    owner = np.searchsorted(starts, commas, side="right") - 1
    return np.bincount(owner, minlength=len(starts)) + 1


def _scan_with_csv_module(path: Path, data: bytes) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Exact record lines and field counts with Python's csv module (slow path)."""
    text = data.decode("utf-8")
    try:
        list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise LoadError(
                f"{path}: a quoted value is never closed (unterminated quote at end of file); "
                "the file was cut off or a quote is missing, fix it and load again"
            ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    lines: list[int] = []
    counts: list[int] = []
    texts: list[str] = []
    previous = 0
    header_done = False
    for row in reader:
        first = previous + 1
        previous = reader.line_num
        if not row:
            continue
        if not header_done:
            header_done = True
            continue
        lines.append(first)
        counts.append(len(row))
        texts.append(_join(row))
    return np.asarray(lines, dtype=np.int64), np.asarray(counts, dtype=np.int64), texts


def _join(row: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(row)
    return out.getvalue()


# -- Parquet -------------------------------------------------------------------
def _read_parquet(path: Path, allow_empty: bool = False) -> SourceTable:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise LoadError(f"{path}: not a readable Parquet file ({exc}); export it again") from None
    columns = [n.strip().lower() for n in table.column_names]
    _check_header(path, columns)
    if table.num_rows == 0 and not allow_empty:
        raise LoadError(f"{path}: no rows (schema only); export the table with its rows")
    arrays = []
    for name, col in zip(columns, table.columns):
        try:
            arrays.append(_as_text(col))
        except (pa.ArrowException, ValueError):
            raise LoadError(
                f"{path}: column {name} has type {col.type}, which cannot be read as a value"
            ) from None
    data = pa.table(arrays, names=columns)
    return SourceTable(
        path, "parquet", None, columns, data, np.arange(1, data.num_rows + 1, dtype=np.int64)
    )


def _as_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    t = col.type
    if pa.types.is_string(t):
        return col
    if pa.types.is_large_string(t) or pa.types.is_dictionary(t):
        return col.cast(pa.string())
    if pa.types.is_timestamp(t):
        # Drop any time zone and sub-second part, as the model keeps seconds.
        col = col.cast(pa.timestamp("s", tz=t.tz), safe=False)
        if t.tz is not None:
            col = col.cast(pa.timestamp("s"))
        return col.cast(pa.string())
    if pa.types.is_nested(t) or pa.types.is_binary(t):
        raise ValueError(str(t))
    return col.cast(pa.string())


# -- reading in chunks ----------------------------------------------------------
class WholeFileNeeded(Exception):
    """A piece of the file could not be lined up on its own; read the file whole instead.

    Raised for files whose quote characters do not pair up (a stray quote
    inside an unquoted value): only the whole-file reader's slow path, with
    Python's ``csv`` module, is exact for them.
    """


def read_source_chunks(
    path: Path,
    encoding: str | None = None,
    allow_empty: bool = False,
    chunk_bytes: int | None = None,
) -> Iterator[SourceTable]:
    """Read a file as consecutive pieces of about ``chunk_bytes`` each, in file order.

    A file no larger than ``chunk_bytes`` (or ``chunk_bytes=None``) is one
    piece, exactly :func:`read_source`. A larger CSV file is cut between
    records, on the bytes (a newline outside quotes, which in UTF-8 and in
    GB18030 never falls inside a character), so each piece decodes and parses
    on its own; line numbers stay those of the whole file. The encoding is
    decided for the whole file first (a strict UTF-8 pass over every piece).
    A Parquet file is read by record batches. Every piece has the same
    ``columns``; whole-file problems raise LoadError as :func:`read_source`
    does (the check for a header-only file comes after the last piece).
    Raises :class:`WholeFileNeeded` when a piece cannot be lined up on its own.
    """
    path = Path(path)
    size = path.stat().st_size
    if chunk_bytes is None or size <= chunk_bytes or size == 0:
        yield read_source(path, encoding, allow_empty)
        return
    chunk_bytes = max(int(chunk_bytes), 1)
    if path.suffix.lower() == ".parquet":
        yield from _parquet_chunks(path, allow_empty, chunk_bytes)
    else:
        yield from _csv_chunks(path, encoding, allow_empty, chunk_bytes)


@dataclass
class _CsvPlan:
    header: tuple[int, int]  # byte range of the header record
    pieces: list[tuple[int, int, int]]  # (start, end, newlines before start), after the header
    utf8_error: int | None  # first byte (of the body, without BOM) that is not UTF-8
    bom: int


def _plan_csv(path: Path, chunk_bytes: int, check_utf8: bool) -> _CsvPlan:
    """Cut points between records, newline counts and UTF-8 validity, in one pass."""
    header: tuple[int, int] | None = None
    pieces: list[tuple[int, int, int]] = []
    utf8_error: int | None = None
    bom = 0
    carry = b""
    carry_start = 0  # file offset of carry[0]
    quotes_before = 0  # parity of quote characters before carry_start
    newlines_before = 0
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk_bytes)
            eof = not block
            data = carry + block
            if carry_start == 0 and data.startswith(codecs.BOM_UTF8):
                bom = len(codecs.BOM_UTF8)
            buf = np.frombuffer(data, dtype=np.uint8)
            newlines = np.flatnonzero(buf == NEWLINE)
            quotes = np.flatnonzero(buf == QUOTE)
            if len(quotes):
                terms = newlines[(np.searchsorted(quotes, newlines) + quotes_before) % 2 == 0]
            else:
                terms = newlines
            cut = len(data) if eof else (int(terms[-1]) + 1 if len(terms) else 0)
            pos = 0
            if header is None and cut:
                # The header is the first record that is not blank.
                ends = terms[terms < cut] if not eof else np.concatenate((terms, [len(data)]))
                for end in ends:
                    end = int(end)
                    rec = data[pos:end]
                    if rec and rec != b"\r" and (carry_start + pos, rec) != (0, codecs.BOM_UTF8):
                        header = (carry_start + pos, carry_start + end)
                        pos = min(end + 1, len(data))
                        break
                    pos = end + 1
                else:
                    pos = cut
            if header is not None and cut > pos:
                start = carry_start + pos
                nl_before = newlines_before + int(np.count_nonzero(newlines < pos))
                if pieces and _blank_only(buf[pos:cut]):
                    # Only blank lines: they go with the piece before, so the last
                    # piece holds the file's last record (checked for truncation).
                    pieces[-1] = (pieces[-1][0], carry_start + cut, pieces[-1][2])
                else:
                    pieces.append((start, carry_start + cut, nl_before))
            if check_utf8 and utf8_error is None and cut:
                skip = bom if carry_start == 0 else 0
                try:
                    data[skip:cut].decode("utf-8")
                except UnicodeDecodeError as exc:
                    utf8_error = carry_start + skip + exc.start - bom
            if eof:
                break
            newlines_before += int(np.count_nonzero(newlines < cut))
            quotes_before += int(np.count_nonzero(quotes < cut))
            carry = data[cut:]
            carry_start += cut
    if header is None:
        raise LoadError(f"{path}: empty file (only blank lines); export the table again")
    return _CsvPlan(header, pieces, utf8_error, bom)


def _blank_only(buf: np.ndarray) -> bool:
    """True when a run of bytes holds no record but blank lines."""
    if bool(((buf != NEWLINE) & (buf != CR)).any()):
        return False
    return len(buf) == 0 or len(_records(buf)[0]) == 0


def _decode_piece(raw: bytes, path: Path, codec: str, offset: int, declared: bool) -> bytes:
    if codec in ("utf-8", "utf-8-sig"):
        return raw  # validated by the plan
    try:
        return raw.decode(codec).encode("utf-8")
    except UnicodeDecodeError as exc:
        tried = codec if declared else "UTF-8 or GB18030"
        raise LoadError(
            f"{path}: cannot be decoded as {tried} (byte {offset + exc.start}); re-export it as UTF-8"
            + ("" if declared else " or name its encoding with --encoding")
        ) from None


def _csv_chunks(
    path: Path, encoding: str | None, allow_empty: bool, chunk_bytes: int
) -> Iterator[SourceTable]:
    if encoding is not None:
        encoding = encoding.lower().replace("_", "-")
        if encoding not in ENCODINGS:
            raise LoadError(f"unknown encoding {encoding!r}; use one of {', '.join(ENCODINGS)}")
    plan = _plan_csv(path, chunk_bytes, check_utf8=encoding in (None, "utf-8"))
    if encoding in (None, "utf-8") and plan.utf8_error is None:
        codec = "utf-8-sig" if plan.bom else "utf-8"
    elif encoding == "utf-8":
        raise LoadError(
            f"{path}: not valid UTF-8 (byte {plan.utf8_error}); re-export it as UTF-8 or load with --encoding gb18030"
        )
    else:
        codec = encoding or "gb18030"
    declared = encoding is not None
    with open(path, "rb") as fh:
        h0, h1 = plan.header
        if codec == "utf-8-sig" and h0 == 0:
            h0 = plan.bom
        fh.seek(h0)
        header_raw = fh.read(h1 - h0)
        header_text = _decode_piece(header_raw, path, codec, h0, declared).decode("utf-8").rstrip("\r")
        raw_names = next(csv.reader([header_text]))
        columns = [n.strip().lower() for n in raw_names]
        _check_header(path, columns)
        total = 0
        for i, (start, end, nl_before) in enumerate(plan.pieces):
            fh.seek(start)
            data = _decode_piece(fh.read(end - start), path, codec, start, declared)
            last = i == len(plan.pieces) - 1
            piece = _parse_piece(path, data, codec, raw_names, columns, nl_before, last)
            total += piece.read
            yield piece
    if total == 0:
        if not allow_empty:
            raise LoadError(f"{path}: header only, no data rows; export the table with its rows")
        yield _empty_piece(path, "csv", codec, columns)


def _empty_piece(path: Path, fmt: str, encoding: str | None, columns: list[str]) -> SourceTable:
    data = pa.table({c: pa.array([], pa.string()) for c in columns})
    return SourceTable(path, fmt, encoding, columns, data, np.empty(0, dtype=np.int64))


def _parse_piece(
    path: Path,
    data: bytes,
    codec: str,
    raw_names: list[str],
    columns: list[str],
    line_offset: int,
    last: bool,
) -> SourceTable:
    """Parse records (no header) of a piece of a CSV file; lines offset to the whole file."""
    buf = np.frombuffer(data, dtype=np.uint8)
    starts, ends, lines = _records(buf) if len(buf) else (np.empty(0, dtype=np.int64),) * 3
    if len(starts) == 0:
        return _empty_piece(path, "csv", codec, columns)
    lines = lines + line_offset
    skipped: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        skipped.append(row.actual_columns)
        return "skip"

    has_quotes = bool((buf == QUOTE).any())
    if has_quotes and _odd_quotes(buf):
        raise WholeFileNeeded(str(path))
    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(
            use_threads=True, block_size=BLOCK_SIZE, column_names=raw_names
        ),
        parse_options=pacsv.ParseOptions(
            newlines_in_values=has_quotes, invalid_row_handler=on_invalid
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in raw_names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            check_utf8=False,
        ),
    )
    table = table.rename_columns(columns)
    ncols = len(columns)
    counts: np.ndarray | None = None
    aligned = len(starts) == table.num_rows + len(skipped)
    if aligned and skipped:
        counts = _field_counts(buf, starts, has_quotes)
        aligned = int((counts != ncols).sum()) == len(skipped)
    if not aligned:
        raise WholeFileNeeded(str(path))
    bad_records: list[BadRecord] = []
    if skipped:
        assert counts is not None
        bad = counts != ncols
        if last and bad[-1] and counts[-1] < ncols:
            raise LoadError(
                f"{path}: last line {int(lines[-1])} is truncated ({int(counts[-1])} of {ncols} fields); "
                "the file was cut off, copy or export it again"
            )
        for i in np.flatnonzero(bad):
            text = data[starts[i] : ends[i]].decode("utf-8").rstrip("\r")
            fields_ = next(csv.reader(io.StringIO(text)), [])
            bad_records.append(
                BadRecord(int(lines[i]), fields_, f"expected {ncols} fields, found {int(counts[i])}")
            )
        lines = lines[~bad]
    return SourceTable(
        path, "csv", codec, columns, table, np.asarray(lines, dtype=np.int64), bad_records
    )


def _parquet_chunks(path: Path, allow_empty: bool, chunk_bytes: int) -> Iterator[SourceTable]:
    def unreadable(exc: BaseException) -> LoadError:
        return LoadError(f"{path}: not a readable Parquet file ({exc}); export it again")

    try:
        pf = pq.ParquetFile(path)
        meta = pf.metadata
    except (pa.ArrowException, OSError) as exc:
        raise unreadable(exc) from None
    columns = [n.strip().lower() for n in pf.schema_arrow.names]
    _check_header(path, columns)
    if meta.num_rows == 0:
        if not allow_empty:
            raise LoadError(f"{path}: no rows (schema only); export the table with its rows")
        yield _read_parquet(path, allow_empty)
        return
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    rows = max(1, int(chunk_bytes * meta.num_rows // max(size, 1)))
    seen = 0
    batches = pf.iter_batches(batch_size=rows, use_threads=True)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            break
        except (pa.ArrowException, OSError) as exc:
            raise unreadable(exc) from None
        arrays = []
        for name, col in zip(columns, batch.columns):
            try:
                arrays.append(_as_text(pa.chunked_array([col])))
            except (pa.ArrowException, ValueError):
                raise LoadError(
                    f"{path}: column {name} has type {col.type}, which cannot be read as a value"
                ) from None
        data = pa.table(arrays, names=columns)
        lines = np.arange(seen + 1, seen + data.num_rows + 1, dtype=np.int64)
        seen += data.num_rows
        yield SourceTable(path, "parquet", None, columns, data, lines)
