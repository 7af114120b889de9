"""`python -m proj serve`: a trained classifier behind HTTP, with dynamic batching.

Imports no torch at module level: serving an ONNX export folder needs only ONNX Runtime,
NumPy and Pillow, so a small container can run it.
"""
