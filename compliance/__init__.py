"""Contact policy, dial gate, attempt ledger, tamper-evident audit chain and compliance reports."""
