"""transfer: everything that learns.

Frozen ImageNet VGG16 features over log-mel spectrograms, and the classifiers trained on them.
Importing this package is cheap: TensorFlow/Keras are imported only inside the functions that
build or run a model, so tools that merely resolve or check weights start fast.
"""
