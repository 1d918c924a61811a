"""derive: every standard loss is a cross-entropy under a distributional assumption."""

__version__ = "0.1.0"
