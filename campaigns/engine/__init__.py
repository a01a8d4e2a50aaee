"""The campaign engine: one pacing loop per campaign, fed by the hopper, gated by compliance.

`loop.CampaignEngine` drives a campaign over a SIP node; `agents.AgentPool` is what it needs from
agents (simulated ones in `sim_agents`, browser agents in the workbench). The pure cores are
`settings` (campaign settings), `schedule` (calling days and hours), `calls` (the call state
machine) and `agents.choose_agent` (reservation order).
"""
