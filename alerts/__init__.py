"""Response-time policy, the four alert tiers, durable timers and KPIs. Never imports `dispatch`."""
