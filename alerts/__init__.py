"""Response-time policy, the four alert tiers, durable timers and KPIs. Never imports `dispatch`.

How `dispatch` wires it (plain data in, callbacks out):

* `alerts.policy.load_policy()` reads `config/alerts.toml`. When an incident reaches a milestone:
  `await store.cancel_milestone(incident_id, milestone)` (and any skipped earlier ones), then
  `await store.schedule(policy.next_timers(incident_id=..., priority=..., incident_type=...,
  reached={milestone: datetime, ...}, jurisdiction={"station": ..., "circle": ...,
  "district": ...}))`. A unit in danger: `await store.schedule([policy.event_alert(...)])`.
* `helpline15 scheduler`: `store = alerts.timers.TimerStore(redis.asyncio.Redis.from_url(...))`,
  `await store.rebuild(specs_from_postgres)`, then
  `await alerts.timers.Scheduler(store, fire_many=...).run(stop_event)`. `fire_many` inserts the
  alerts with ON CONFLICT (key) DO NOTHING and appends them to the `h15:alerts` stream; a stream
  consumer pushes WebSockets and calls `alerts.notify.WebhookNotifier.deliver(key,
  alerts.cap.build_cap(alert, ...))`, so a slow gateway never delays the next alert.
* `alerts.kpi.summarize / nena_compliance / nfpa1221_compliance / to_csv` serve `GET /kpi`.
"""
