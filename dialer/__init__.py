"""SIP layer, call progress and outcomes, answering-machine detection, pacing, carrier simulator."""
