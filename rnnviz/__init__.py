"""rnnviz: a from-scratch NumPy recurrent network, built to be watched while it learns.

The core imports no Qt: everything here runs headless.
"""
