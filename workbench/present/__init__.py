"""Presentation: render results (HTML, text). Never computes statistics."""
