"""Prompt templates, shipped as package data (`scout_context.prompts`)."""
