SELECT
  r.subject_id AS subject_id,
  'blacklist' AS list_id,
  'defaulter' AS criterion_id,
  MIN_BY(r.record_key, r.first_key) AS record_key
FROM sc_records AS r
WHERE
  r.record_type = 'court_judgment'
  AND (
    (
      r.defaulter AND (
        r.status = 'unfulfilled'
      )
    )
  )
  AND r.event_date <= CAST('2026-01-01' AS DATE)
  AND r.event_date > CAST('2023-01-02' AS DATE)
GROUP BY
  r.subject_id
