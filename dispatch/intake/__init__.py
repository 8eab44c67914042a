"""Intake: suggest incident type, priority and location from a call's transcript.

Pure functions and small classes with their inputs passed in, so the service layer (and tests)
can use them without a database. The FastAPI router (`views.py`) is the lead's.
"""
