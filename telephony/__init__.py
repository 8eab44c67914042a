"""Asterisk integration: AMI call lifecycle, AudioSocket audio, speech recognition, radio.

Never imports `dispatch`: results leave as plain data through injected callbacks.
"""
