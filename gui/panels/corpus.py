"""The corpus view: source picker, class counts, length histogram, vocabulary, examples.

For a language model (one long text): token counts by rank instead of the length
histogram, and BPTT windows (input -> target) as the examples."""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.glyphs import drawable, shown_token
from gui.tasks import visible_words
from gui.vocabulary import VocabularyTable, build_table

PAD_ID, UNK_ID = 0, 1
EXAMPLES_SHOWN = 6
HIST_TITLE = "Sequence lengths (tokens)"
EXAMPLES_TITLE = "Examples as the model sees them (pre-padded ids):"
LM_EXAMPLES_TITLE = "Training windows as the model sees them (input → next-token target):"
RANK_TITLE = "Token counts by rank (most frequent first)"
PHASE_STYLE = "color: #555"  # the message line: a load's phase, ...
NOTES_STYLE = "color: #8a6d00"  # ... the run's warnings, ...
ERROR_STYLE = "color: #b00020; font-weight: bold"  # ... or why a load failed


class VocabularyModel(QAbstractTableModel):
    """(word, id, count) rows served on demand from a `gui.vocabulary.VocabularyTable`.

    `rows` holds the ids in display order (sorted, filtered): Qt asks only for the rows
    on screen, and sorting or searching is an index into arrays sorted in the worker.
    """

    HEADERS = ("word", "id", "count")

    def __init__(self) -> None:
        super().__init__()
        self.table: VocabularyTable = build_table([], np.zeros(0, np.int64))
        self.rows = np.zeros(0, np.int64)  # ids, in the order shown
        self.sort_column, self.descending = 2, True
        self.filter_text = ""

    def set_table(self, table: VocabularyTable) -> bool:
        """Show `table`; False (and nothing redone) when it is the one shown."""
        if table.fingerprint == self.table.fingerprint:
            return False
        self.table = table
        self._refresh()
        return True

    def set_vocabulary(self, words: list[str], counts: np.ndarray) -> None:
        """Build the table here (small vocabularies: previews and tests)."""
        self.set_table(build_table(words, counts))

    def set_filter(self, text: str) -> None:
        if text != self.filter_text:
            self.filter_text = text
            self._refresh()

    def sort(self, column: int, order=Qt.AscendingOrder) -> None:
        self.sort_column, self.descending = column, order == Qt.DescendingOrder
        self._refresh()

    def _refresh(self) -> None:
        rows = self.table.order(self.sort_column, self.descending)
        keep = self.table.matching(self.filter_text)
        self.beginResetModel()
        self.rows = rows if keep is None else rows[keep[rows]]
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 3

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        if role == Qt.DisplayRole:
            r, c = index.row(), index.column()
            i = int(self.rows[r])
            if c == 0:
                return drawable(self.table.words[i])  # no empty boxes (gui.glyphs)
            return i if c == 1 else int(self.table.counts[i])
        if role == Qt.TextAlignmentRole and index.column() > 0:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def headerData(self, section: int, orientation, role: int = Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return self.HEADERS[section]
        return None


class CorpusPanel(QWidget):
    """Shows what the model trains on; asks the window to load a new source."""

    load_requested = Signal(str)  # a path or "sample:NAME"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.samples = QComboBox()
        self.samples.setToolTip("Built-in samples")
        self.open_file = QPushButton("Open file…")
        self.open_folder = QPushButton("Open folder…")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setVisible(False)
        # Its room is kept while it is hidden: a bar that comes and goes with each phase
        # resized the plots below it, and each resize lays them out and paints them again.
        policy = self.progress.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.progress.setSizePolicy(policy)
        self.message = QLabel()  # a load's phase while one runs, else the run's warnings
        self._notes = ""  # the run's warnings, shown when no load or set-up runs
        self._phase_shown = False  # the message shows a phase of a load (not the notes)
        self.message.setTextFormat(Qt.PlainText)  # raw error text, never read as HTML
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.summary = QLabel("No corpus loaded. Pick a sample, open a file, or drop one here.")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.RichText)

        self.hist_widget = pg.PlotWidget(background="w", title=HIST_TITLE)
        self.hist_widget.setMinimumHeight(150)
        self.hist_plot = self.hist_widget.getPlotItem()
        self.hist_plot.setLabel("bottom", "tokens per text")
        self.hist_plot.setLabel("left", "texts")
        self.hist_plot.setMouseEnabled(x=False, y=False)
        self.hist_curve = self.hist_plot.plot(
            stepMode="center",
            fillLevel=0,
            brush=(31, 119, 180, 120),
            pen=(31, 119, 180),
        )
        self.maxlen_line = pg.InfiniteLine(
            angle=90,
            pen=pg.mkPen((200, 40, 40), width=2, style=Qt.DashLine),
            label="maxlen",
            labelOpts={"position": 0.9, "color": (200, 40, 40)},
        )
        self.hist_plot.addItem(self.maxlen_line)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search the vocabulary…")
        self.search.setClearButtonEnabled(True)
        self.vocab_model = VocabularyModel()
        self.table = QTableView()
        self.table.setModel(self.vocab_model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(2, Qt.DescendingOrder)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(20)

        self.examples = QPlainTextEdit()
        self.examples.setReadOnly(True)
        self.examples.setLineWrapMode(QPlainTextEdit.NoWrap)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.Monospace)
        self.examples.setFont(mono)

        source_row = QHBoxLayout()
        source_row.addWidget(QLabel("Sample"))
        source_row.addWidget(self.samples, 1)
        source_row.addWidget(self.open_file)
        source_row.addWidget(self.open_folder)

        vocab_box = QWidget()
        vocab_layout = QVBoxLayout(vocab_box)
        vocab_layout.setContentsMargins(0, 0, 0, 0)
        vocab_layout.addWidget(self.search)
        vocab_layout.addWidget(self.table)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.summary)
        left_layout.addWidget(self.hist_widget, 1)
        examples_box = QWidget()
        ex_layout = QVBoxLayout(examples_box)
        ex_layout.setContentsMargins(0, 0, 0, 0)
        self.examples_title = QLabel(EXAMPLES_TITLE)
        ex_layout.addWidget(self.examples_title)
        ex_layout.addWidget(self.examples)

        top = QSplitter(Qt.Horizontal)
        top.addWidget(left)
        top.addWidget(vocab_box)
        top.setSizes([500, 300])
        split = QSplitter(Qt.Vertical)
        split.addWidget(top)
        split.addWidget(examples_box)
        split.setSizes([300, 200])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(source_row)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)

        self.search.textChanged.connect(self.vocab_model.set_filter)
        self.samples.activated.connect(self._on_sample_chosen)
        self.open_file.clicked.connect(self.choose_file)
        self.open_folder.clicked.connect(self.choose_folder)

    # -- public API -------------------------------------------------------------------
    def set_samples(self, samples: list[tuple[str, str]], current: str = "") -> None:
        """Fill the sample picker with (name, description) pairs."""
        self.samples.blockSignals(True)
        self.samples.clear()
        self.samples.addItem("(a file or folder)", "")
        for name, description in samples:
            self.samples.addItem(f"{name} — {description}", f"sample:{name}")
        self.set_current_source(current)
        self.samples.blockSignals(False)

    def set_current_source(self, source: str) -> None:
        index = self.samples.findData(source)
        self.samples.setCurrentIndex(max(index, 0))

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open corpus",
            "",
            "Text corpora (*.tsv *.csv *.txt *.jsonl);;All files (*)",
        )
        if path:
            self.load_requested.emit(path)

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder (one subfolder per class)")
        if path:
            self.load_requested.emit(path)

    def set_loading(self, fraction: float, text: str = "") -> None:
        """Progress of a load's phase (in the worker, or the views' set-up here): a
        fraction >= 1 hides the bar and shows the run's warnings again, a negative one
        shows a phase whose share is not known (a busy bar)."""
        busy = fraction < 1.0
        self.progress.setVisible(busy)
        # QProgressBar repaints at once on a new value, and a repaint of one widget paints
        # whatever else of the window waits to be painted (every plot of a new run): with
        # updates off, re-enabling them asks for a paint in a later event-loop turn.
        self.progress.setUpdatesEnabled(False)
        self.progress.setRange(0, 0 if fraction < 0 else 1000)
        self.progress.setValue(int(max(fraction, 0.0) * 1000))
        self.progress.setUpdatesEnabled(True)
        if busy:
            self._phase_shown = True
            self._say(text or "Loading…", PHASE_STYLE)
        elif self._phase_shown:
            self._show_notes()

    def show_error(self, text: str) -> None:
        self.progress.setVisible(False)
        self._phase_shown = False
        self._say(text, ERROR_STYLE)

    def set_info(self, info) -> None:
        """Fill every view from a `gui.worker.RunInfo`."""
        warnings = list(info.warnings)
        self._notes = "\n".join(warnings[:3]) + (
            f"\n(+{len(warnings) - 3} more)" if len(warnings) > 3 else ""
        )
        if not self._phase_shown:  # else when the phase ends (`set_loading`)
            self._show_notes()
        self.set_current_source(info.source)
        if info.config.task == "lm":
            self._set_lm_info(info)
            return
        self._set_axes(HIST_TITLE, "tokens per text", "texts", show_maxlen=True)
        self.examples_title.setText(EXAMPLES_TITLE)
        counts = ", ".join(
            f"{html.escape(name)}: <b>{n:,}</b>" for name, n in info.class_counts.items()
        )
        self.summary.setText(
            f"<b>{html.escape(info.source)}</b><br>"
            f"{info.num_texts:,} texts ({info.num_train:,} train, {info.num_val:,} validation)"
            f"<br>per class: {counts}<br>"
            f"vocabulary: <b>{len(info.words):,}</b> tokens (incl. [PAD], [UNK]) · "
            f"maxlen T = <b>{info.maxlen}</b>{truncation_line(info)}"
        )
        self._draw_histogram(info.lengths, info.maxlen)
        self._set_table(info)
        self.examples.setPlainText(drawable(_examples_text(info)))

    # -- internals --------------------------------------------------------------------
    def _show_notes(self) -> None:
        self._phase_shown = False
        self._say(self._notes, NOTES_STYLE)

    def _say(self, text: str, style: str) -> None:
        """The message line; its style sheet set only when it changes (each setting
        polishes the label again, and a load reports its progress a hundred times)."""
        if self.message.styleSheet() != style:
            self.message.setStyleSheet(style)
        self.message.setText(text)

    def _set_lm_info(self, info) -> None:
        cfg = info.config
        unit = "characters" if cfg.level == "char" else "words"
        share = f"{cfg.val_fraction:.0%}"
        self.summary.setText(
            f"<b>{html.escape(info.source)}</b> · language model<br>"
            f"one text of {info.text_chars:,} characters: {info.num_train:,} {unit} for "
            f"training, {info.num_val:,} for validation (the last {share})<br>"
            f"vocabulary: <b>{len(info.words):,}</b> tokens (incl. [PAD], [UNK]) · "
            f"BPTT window T = <b>{info.maxlen}</b> · {info.steps_per_epoch:,} "
            f"step{'s' if info.steps_per_epoch != 1 else ''} per epoch"
        )
        counts = np.sort(np.asarray(info.token_counts)[2:])[::-1]
        self._set_axes(RANK_TITLE, "token rank", "occurrences", show_maxlen=False)
        ranks = np.arange(len(counts) + 1, dtype=np.float64)
        self.hist_curve.setData(ranks, counts.astype(np.float64))
        self._set_table(info)
        self.examples_title.setText(LM_EXAMPLES_TITLE)
        self.examples.setPlainText(_lm_examples_text(info))

    def _set_table(self, info) -> None:
        """The run's vocabulary in the table, unless it is the one shown (a Reset)."""
        table = info.vocabulary
        if table is None:  # a RunInfo made by hand (previews): build it here
            words = visible_words(info.words) if info.config.task == "lm" else info.words
            table = build_table(words, info.token_counts)
        if self.vocab_model.set_table(table):
            self.table.scrollToTop()

    def _set_axes(self, title: str, x: str, y: str, show_maxlen: bool) -> None:
        if self.hist_plot.titleLabel.text != title:
            self.hist_plot.setTitle(title)
            self.hist_plot.setLabel("bottom", x)
            self.hist_plot.setLabel("left", y)
        self.maxlen_line.setVisible(show_maxlen)

    def _draw_histogram(self, lengths: np.ndarray, maxlen: int) -> None:
        lengths = np.asarray(lengths)
        if not len(lengths):
            self.hist_curve.setData([0, 1], [0])
            return
        hist, edges = length_histogram(lengths, maxlen)
        self.hist_curve.setData(edges, hist)
        self.maxlen_line.setPos(maxlen)
        self.maxlen_line.label.setFormat(f"maxlen {maxlen}")

    def _on_sample_chosen(self, index: int) -> None:
        source = self.samples.itemData(index)
        if source:
            self.load_requested.emit(source)


def length_histogram(lengths: np.ndarray, maxlen: int, bins: int = 60):
    """`np.histogram` of integer lengths over [0, max(lengths, maxlen) + 1] in at most
    `bins` equal bins, in O(N) (a bincount: no sort of 500k lengths on the GUI thread)."""
    top = int(max(lengths.max(), maxlen)) + 1
    edges = np.linspace(0, top, min(top, bins) + 1)
    per_length = np.bincount(lengths.astype(np.int64), minlength=top + 1)  # (top + 1,)
    where = np.searchsorted(edges, np.arange(top + 1), side="right") - 1
    hist = np.zeros(len(edges) - 1, np.int64)
    np.add.at(hist, np.clip(where, 0, len(hist) - 1), per_length)
    return hist, edges


def truncation_line(info) -> str:
    """One line on what max length cuts off (train + validation texts), or that it cuts nothing."""
    texts = getattr(info, "truncated_texts", 0)
    if not texts:
        return " · no text is cut"
    tokens = getattr(info, "truncated_tokens", 0)
    return (
        f"<br><span style='color:#b02a37'><b>max length T = {info.maxlen} cuts {texts:,} "
        f"texts, dropping {tokens:,} tokens</b> from their start (raise Max length T, then "
        "Reset, to keep them)</span>"
    )


def _examples_text(info) -> str:
    lines = []
    words = info.words
    for text, ids, label in info.examples[:EXAMPLES_SHOWN]:
        n_pad = int((ids == PAD_ID).sum())
        shown = " ".join("UNK" if t == UNK_ID else str(int(t)) for t in ids if t != PAD_ID)
        tokens = " ".join(
            ("[UNK]" if t == UNK_ID else words[t]) for t in ids if t != PAD_ID and t < len(words)
        )
        lines.append(f"[{label}] {text[:100]}")
        lines.append(f"   tokens: {tokens}")
        lines.append(f"   ids:    [PAD]x{n_pad} {shown}")
        lines.append("")
    return "\n".join(lines)


def _lm_examples_text(info) -> str:
    lines = [
        "Each step reads a window of tokens and predicts each one's successor;",
        "the state carries over from one window to the next (truncated BPTT).",
        "",
    ]
    words = info.words
    for _text, ids, _label in info.examples[:3]:
        shown = [shown_token(words[t]) if t < len(words) else "?" for t in ids[:48]]
        sep = "" if info.config.level == "char" else " "
        lines.append(f"input:  {sep.join(shown[:-1])}")
        lines.append(f"target: {sep.join(shown[1:])}")
        lines.append(f"ids:    {' '.join(str(int(t)) for t in ids[:24])} …")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    from types import SimpleNamespace

    from gui.preview import run_preview
    from rnnviz.config import Config

    app = pg.mkQApp("corpus")
    rng = np.random.default_rng(0)
    words = ["[PAD]", "[UNK]"] + [f"word{i}" for i in range(200)]
    ids = np.zeros((3, 12), np.int64)
    ids[:, 5:] = rng.integers(1, 202, (3, 7))
    info = SimpleNamespace(
        source="sample:sentiment",
        config=Config(),
        vocabulary=None,
        warnings=["line 7: empty text skipped"],
        class_counts={"negative": 120, "positive": 118},
        num_texts=238,
        num_train=190,
        num_val=48,
        words=words,
        token_counts=rng.integers(1, 100, 202),
        maxlen=12,
        truncated=4,
        lengths=rng.poisson(7, 238),
        examples=[("a synthetic example text", row, "positive") for row in ids],
    )
    panel = CorpusPanel()
    panel.set_samples([("sentiment", "movie-review sentences, 2 classes")], "sample:sentiment")
    panel.set_info(info)
    raise SystemExit(run_preview(panel, (900, 600)))
