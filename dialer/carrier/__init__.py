"""Carrier simulator: a SIP peer that answers each dialed number the way a seeded profile says."""
