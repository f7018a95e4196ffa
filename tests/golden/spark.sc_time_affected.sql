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
      OR r.event_date > CAST('2024-12-01' AS DATE)
      AND NOT (
        r.event_date > CAST('2025-01-01' AS DATE)
      )
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
      OR r.event_date > CAST('2022-12-02' AS DATE)
      AND NOT (
        r.event_date > CAST('2023-01-02' AS DATE)
      )
    )
  )
