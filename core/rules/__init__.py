"""The rules every room shares, one home each: the error users see (BadInput), which epoch is best, how a
number reads, how a curve is thinned and smoothed, a polynomial as text.

Imports nothing else of dltui (only the standard library); torch-free.
"""
