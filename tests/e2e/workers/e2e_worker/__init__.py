"""A worker package for the end-to-end tests: one task per option the codemod propagates."""

from __future__ import annotations
