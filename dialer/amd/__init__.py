"""Answering-machine detection on the first seconds of an answered call's audio."""

from dialer.amd.detector import AmdDetector
from dialer.amd.verdict import AmdConfig, AmdFeatures, AmdVerdict, Kind

__all__ = ["AmdConfig", "AmdDetector", "AmdFeatures", "AmdVerdict", "Kind"]
