"""weaklabel: turn transcribed, unlabelled audio into a weakly labelled speech-emotion dataset.

Everything up to a labelled clip lives here (readers, text sentiment, audio slicing, features, splits).
No TensorFlow import anywhere in this package: labelling a million sentences must not pay for a
deep-learning runtime.
"""
__version__ = "0.1.0"
