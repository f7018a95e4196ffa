SELECT DISTINCT
  r.subject_id
FROM sc_records AS r
WHERE
  (
    r.record_type = 'tax_payment'
    AND (
      r.event_date <= CAST('2026-01-01' AS DATE)
    )
  )
  OR (
    r.record_type = 'volunteering'
    AND (
      r.event_date > CAST('2025-12-01' AS DATE)
      AND r.event_date <= CAST('2026-01-01' AS DATE)
      OR DATEDIFF(DAY, r.event_date, CAST('2025-12-01' AS DATE)) < 365
      AND DATEDIFF(DAY, r.event_date, CAST('2026-01-01' AS DATE)) >= 365
    )
  )
  OR (
    r.record_type = 'traffic_ticket'
    AND (
      r.event_date > CAST('2025-12-01' AS DATE)
      AND r.event_date <= CAST('2026-01-01' AS DATE)
    )
  )
  OR (
    r.record_type = 'platform_repayment'
    AND (
      r.event_date > CAST('2025-12-01' AS DATE)
      AND r.event_date <= CAST('2026-01-01' AS DATE)
    )
  )
  OR (
    r.record_type = 'court_judgment'
    AND (
      r.event_date > CAST('2025-12-01' AS DATE)
      AND r.event_date <= CAST('2026-01-01' AS DATE)
      OR DATEDIFF(DAY, r.event_date, CAST('2025-12-01' AS DATE)) < 1095
      AND DATEDIFF(DAY, r.event_date, CAST('2026-01-01' AS DATE)) >= 1095
    )
  )
