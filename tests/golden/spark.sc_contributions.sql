SELECT
  r.record_key,
  'tax.late' AS rule_id,
  CAST(CAST(CAST(FLOOR(
    -10.0 * POWER(
      2.0,
      -(
        CAST(DATEDIFF(DAY, r.event_date, CAST('2026-01-01' AS DATE)) AS DOUBLE)
      ) / 365.0
    ) * 1000000 + 0.5
  ) AS BIGINT) AS DOUBLE) / 1000000 AS DOUBLE) AS points
FROM sc_records AS r
WHERE
  r.record_type = 'tax_payment'
  AND (
    (
      (
        r.status = 'late'
      ) AND (
        r.amount >= 1000
      )
    )
  )
  AND r.event_date <= CAST('2026-01-01' AS DATE)
  AND r.event_date > CAST('2021-01-02' AS DATE)
  AND r.subject_id IN (
    SELECT
      subject_id
    FROM sc_affected
  )
UNION ALL
SELECT
  r.record_key,
  'civic.volunteering' AS rule_id,
  CAST(CAST(CASE
    WHEN ROW_NUMBER() OVER (
      PARTITION BY r.subject_id, TRUNC(r.event_date, 'MONTH')
      ORDER BY r.event_date DESC, r.record_key DESC
    ) = 1
    THEN 2000000
    ELSE 0
  END AS DOUBLE) / 1000000 AS DOUBLE) AS points
FROM sc_records AS r
WHERE
  r.record_type = 'volunteering'
  AND r.event_date <= CAST('2026-01-01' AS DATE)
  AND r.event_date > CAST('2025-01-01' AS DATE)
  AND r.subject_id IN (
    SELECT
      subject_id
    FROM sc_affected
  )
UNION ALL
SELECT
  r.record_key,
  'sector.drunk' AS rule_id,
  CAST(CAST(-20000000 AS DOUBLE) / 1000000 AS DOUBLE) AS points
FROM sc_records AS r
JOIN sc_subjects AS s
  ON r.subject_id = s.subject_id
WHERE
  r.record_type = 'traffic_ticket'
  AND (
    (
      r.offence = 'drunk_driving'
    )
  )
  AND r.event_date <= CAST('2026-01-01' AS DATE)
  AND s.profession IN ('medical')
  AND r.subject_id IN (
    SELECT
      subject_id
    FROM sc_affected
  )
UNION ALL
SELECT
  r.record_key,
  'shop.on_time' AS rule_id,
  CAST(CAST(1000000 AS DOUBLE) / 1000000 AS DOUBLE) AS points
FROM sc_records AS r
JOIN sc_subjects AS s
  ON r.subject_id = s.subject_id
WHERE
  r.record_type = 'platform_repayment'
  AND (
    (
      r.status = 'on_time'
    )
  )
  AND r.event_date <= CAST('2026-01-01' AS DATE)
  AND s.consent_commercial = TRUE
  AND r.subject_id IN (
    SELECT
      subject_id
    FROM sc_affected
  )
