"""rnnviz: a from-scratch NumPy recurrent network, built to be watched while it learns.

The core imports no Qt: everything here runs headless.
"""

from rnnviz.config import Config
from rnnviz.model import RNNClassifier
from rnnviz.optim import SGD, Adam, Momentum
from rnnviz.tokenizer import Tokenizer

__all__ = ["SGD", "Adam", "Config", "Momentum", "RNNClassifier", "Tokenizer"]
__version__ = "0.1.0"
