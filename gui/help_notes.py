"""'How to read this': one short note per view, and the collapsible box that shows it.

Each note says what the view shows, what healthy and broken look like, and one thing
to try, and explains the view's jargon where it appears. The texts live here, in one
place; the window shows the note of the tab in front (`HelpNote.show_for`), the curves
carry theirs on a "?" button.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout

# Tab name (a --panel name) -> (title, note as rich text).
NOTES: dict[str, tuple[str, str]] = {
    "network": (
        "the Network tab",
        "<b>Shows</b> the embedding matrix (one row per word, most frequent first), the "
        "hidden state h<sub>t</sub> of one example over its steps, the weights W, "
        "W<sub>h</sub>, W<sub>out</sub> and their gradients; colours run blue (−) to red (+) "
        "on fixed levels, so frames compare. <b>Healthy:</b> varied colours that settle; "
        "words of one class drifting alike. <b>Broken:</b> a hidden state stuck at ±1 "
        "everywhere (saturated tanh: its gradient is ~0), or moving on [PAD] steps with the "
        "mask off. <b>Try</b> Init › uniform and Reset: the seed's positive weights saturate.",
    ),
    "corpus": (
        "the Corpus tab",
        "<b>Shows</b> the texts per class, the vocabulary, a histogram of text lengths with "
        "the max length T marked, and examples as the network sees them: ids, pre-padded "
        "with [PAD] (id 0), unknown words as [UNK] (id 1). <b>Healthy:</b> balanced classes, "
        "T above almost every text. <b>Broken:</b> a T that cuts texts (the summary says how "
        "many texts and tokens are dropped, from their start), or one class much larger "
        "(accuracy then starts at its share, not at 1/C). <b>Try</b> Max length T below the "
        "longest text and Reset: watch what is cut.",
    ),
    "why": (
        "the Why tab",
        "<b>Shows</b> each token's share in the answer for the sentence in “Try a "
        "sentence”: gradient × input (how the score moves with the token's vector) and "
        "<i>occlusion</i>: the answer re-computed with the token hidden (replaced by [UNK], or "
        "dropped), the drop in p(class) being its share. Red pushes towards the predicted "
        "class, blue against. <b>Healthy:</b> sentiment words carry the answer. "
        "<b>Broken:</b> [PAD] or filler words deciding it (padding leak, overfitting). "
        "<b>Try</b> adding “not” before a positive word.",
    ),
    "gradient_flow": (
        "the Gradient flow tab",
        "<b>Shows</b> ‖dL/dh<sub>t</sub>‖, how much of the error signal reaches each step t "
        "of the sequence (log scale), for this batch and over training (heatmap, in decades "
        "= factors of 10 against the last step), and each weight's gradient norm. "
        "<b>Healthy:</b> a flat-ish line: early tokens still get a say. <b>Vanishing:</b> "
        "falling by decades towards t = 1 (long sequences, saturated tanh). "
        "<b>Exploding:</b> rising towards t = 1 (recurrent gain above 1, clipping off). "
        "<b>Try</b> the lessons Vanishing and Exploding gradients.",
    ),
    "gates": (
        "the Gates tab",
        "<b>Shows</b> a GRU's or LSTM's gates for one example, units down and tokens across, "
        "on 0 (closed) … 1 (open), and each gate's mean over training. A <i>gate</i> is a "
        "sigmoid that scales what passes: the GRU's update gate z keeps the old state, the "
        "LSTM's forget gate f keeps the cell. <b>Healthy</b> on a long recall: z (or f) near "
        "1 across the distractors, so the first token survives. <b>Broken:</b> gates near 0 "
        "or 0.5 everywhere (try Gate init › zero). The tanh RNN has no gates. "
        "<b>Try</b> the gating-cure lesson.",
    ),
    "state_space": (
        "the State space tab",
        "<b>Shows</b> the hidden states the validation texts visit (an LSTM's: [h, c]), "
        "flattened to their first two principal components: each text's path token by "
        "token, its end coloured by its class, the <i>fixed points</i> (states the network "
        "keeps when the input is zero: black stable, orange unstable) and the readout "
        "direction (arrow). <b>Healthy</b> "
        "for sentiment: the fixed points line up (a line attractor) along the readout, and "
        "words push the state along it. <b>Broken:</b> no structure, or every path ending "
        "in one spot. <b>Try</b> typing a sentence: its path is highlighted.",
    ),
    "neurons": (
        "the Neurons tab",
        "<b>Shows</b> the sentence coloured by one hidden unit's state h<sub>t</sub>[u] "
        "(−1 blue … +1 red), the units sorted by <i>swing</i> (the spread max − min of the "
        "unit over the sentence's real tokens: a unit that stays put says nothing about this "
        "sentence; a language model's by <i>correlation</i> with its next-token guesses, "
        "since its saturated units all swing 2.00), and the corpus tokens that drive the "
        "unit highest. <b>Healthy:</b> some "
        "units switch on a word class (negation, a topic). <b>Broken:</b> every unit stuck at "
        "±1 (swing ≈ 0). <b>Try</b> a character-level language model: units for spaces and "
        "line ends.",
    ),
    "projection": (
        "the Projection tab",
        "<b>Shows</b> the word vectors (embedding rows) flattened to 2-D by PCA, coloured by "
        "the class each word <i>leans</i> to: the network's answer for the word alone as a "
        "one-word text (pale = undecided, strong = sure); hover for nearest neighbours "
        "(cosine). <b>Healthy:</b> words of one class gathering, opposite ones apart. "
        "<b>Broken:</b> one pale cloud long into training (nothing learnt about words). "
        "<b>Try</b> the topics sample: four groups.",
    ),
    "errors": (
        "the Errors tab",
        "<b>Shows</b> the confusion matrix on the validation texts (rows: true class, "
        "columns: predicted) and the misclassified ones, most confident first. "
        "<b>Healthy:</b> a strong diagonal, errors that a person would find hard. "
        "<b>Broken:</b> one column taking everything (the network answers one class), or "
        "confident errors on easy texts (overfitting). <b>Try</b> clicking an error: it "
        "goes to “Try a sentence” and the Why tab explains it.",
    ),
    "compare": (
        "the Compare tab",
        "<b>Shows</b> runs overlaid (a run is kept when a new one starts: Reset, new corpus), "
        "the legend naming the settings that differ. <b>Healthy</b> comparisons change one "
        "setting at a time. <b>Try</b> Head › tanh against softmax, or SGD against Adam, "
        "with the same seed.",
    ),
}

CURVES_NOTE = (
    "<b>Loss and accuracy</b> per training step (thin: raw, thick: smoothed) and on the "
    "validation split (dots). The dashed <b>ln C</b> line is where an untrained classifier "
    "of C classes starts: guessing 1/C for each class costs −ln(1/C) = ln C nats "
    "(ln 2 = 0.69 for 2 classes); the accuracy of a guess is 1/C (0.50, or 0.25 for 4). "
    "For a language model the loss is in bits per character and the line is log<sub>2</sub> "
    "V. The dashed lines named right of the accuracy plot are baselines on the same "
    "validation texts: always answering the most frequent class, and a bag of words "
    "(word counts, no order): a recurrent network should beat both. "
    "<b>Healthy:</b> both losses fall, validation a little above training. "
    "<b>Overfitting:</b> training falls while validation rises. <b>Diverging:</b> jumps, "
    "then NaN (the window pauses)."
)


class HelpNote(QFrame):
    """A one-line header that unfolds into the current view's note; remembers open/closed."""

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.setObjectName("helpNote")
        self.settings = settings
        self.toggle = QToolButton()
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.RightArrow)
        self.toggle.setAutoRaise(True)
        self.toggle.toggled.connect(self._on_toggled)
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.RichText)
        self.body.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.body.setContentsMargins(22, 0, 4, 4)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.toggle)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(row)
        layout.addWidget(self.body)
        self.name = ""
        opened = settings is not None and settings.value("help_open", False, type=bool)
        self.toggle.setChecked(bool(opened))
        self._on_toggled(self.toggle.isChecked())

    def show_for(self, name: str) -> None:
        """Show the note of the view called `name` (a --panel name); none hides the box."""
        self.name = name
        if name not in NOTES:
            self.hide()
            return
        title, text = NOTES[name]
        self.toggle.setText(f"How to read {title}")
        self.body.setText(text)
        self.show()

    def set_open(self, opened: bool) -> None:
        self.toggle.setChecked(opened)

    def _on_toggled(self, opened: bool) -> None:
        self.body.setVisible(opened)
        self.toggle.setArrowType(Qt.DownArrow if opened else Qt.RightArrow)
        if self.settings is not None:
            self.settings.setValue("help_open", opened)


def help_button(text: str, parent=None) -> QToolButton:
    """A small "?" whose tooltip is `text` and which shows it on click too."""
    from PySide6.QtWidgets import QToolTip

    button = QToolButton(parent)
    button.setText("?")
    button.setAutoRaise(True)
    button.setToolTip(f"<p>{text}</p>")
    button.clicked.connect(
        lambda: QToolTip.showText(button.mapToGlobal(button.rect().bottomLeft()), f"<p>{text}</p>")
    )
    return button
