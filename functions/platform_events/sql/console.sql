-- Statements of the console (platform_events.console): pipeline health beyond jobs_status_*.

-- name: console_throughput_hourly
-- Delivered events per hour of delivery over the last %(hours)s hours, with the delivery lag.
SELECT date_trunc('hour', processed_at) AS hour,
       count(*) AS delivered,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at))::numeric, 1) AS lag_p50_s,
       round(max(extract(epoch FROM processed_at - received_at))::numeric, 1) AS lag_max_s
  FROM platform_event_delivery
 WHERE status = 'delivered'
   AND processed_at >= now() - make_interval(hours => %(hours)s)
 GROUP BY 1
 ORDER BY 1;

-- name: console_dead_letters
-- The ingest dead letter (migrations/0041) by reason over the console's window.
SELECT reason_code AS reason, count(*) AS messages, max(received_at) AS last_at
  FROM platform_events_dead_letter
 WHERE received_at >= now() - make_interval(hours => %(hours)s)
 GROUP BY reason_code
 ORDER BY count(*) DESC, reason_code
 LIMIT 20;
