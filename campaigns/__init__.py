"""Accounts, debts, phones, payments, promises, call lists and import, campaigns and the engine."""
