"""The analyst's layer: the dbt models of ``analytics/`` (sessions, users, behaviour features,
funnel, cohorts) run over the warehouse's ``events`` table, and the console that shows them."""
