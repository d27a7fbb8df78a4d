"""qyn1: Python source -> structural encoding -> chunked rANS -> ChaCha20-Poly1305 -> binary container."""

__version__ = "0.1.0"
