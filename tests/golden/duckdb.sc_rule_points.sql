SELECT
  h.subject_id,
  'tax.late' AS rule_id,
  'money' AS dimension,
  CAST(LEAST(
    30.0,
    GREATEST(
      -30.0,
      CAST(SUM(
        CAST(FLOOR(
          -10.0 * POWER(
            2.0,
            -(
              CAST(DATE_DIFF('DAY', h.event_date, CAST('2026-01-01' AS DATE)) AS DOUBLE)
            ) / 365.0
          ) * 1000000 + 0.5
        ) AS BIGINT)
      ) AS DOUBLE) / 1000000
    )
  ) AS DOUBLE) AS points,
  COUNT(*) AS hits,
  MAX(h.event_date) AS last_event
FROM (
  SELECT
    r.subject_id AS subject_id,
    r.event_date AS event_date
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
) AS h
GROUP BY
  h.subject_id
UNION ALL
SELECT
  h.subject_id,
  'civic.volunteering' AS rule_id,
  'civic' AS dimension,
  CAST(CAST(SUM(2000000) AS DOUBLE) / 1000000 AS DOUBLE) AS points,
  COUNT(*) AS hits,
  MAX(h.event_date) AS last_event
FROM (
  SELECT
    r.subject_id AS subject_id,
    MAX(r.event_date) AS event_date
  FROM sc_records AS r
  WHERE
    r.record_type = 'volunteering'
    AND r.event_date <= CAST('2026-01-01' AS DATE)
    AND r.event_date > CAST('2025-01-01' AS DATE)
  GROUP BY
    r.subject_id,
    DATE_TRUNC('MONTH', r.event_date)
) AS h
GROUP BY
  h.subject_id
UNION ALL
SELECT
  h.subject_id,
  'sector.drunk' AS rule_id,
  'civic' AS dimension,
  CAST(CAST(SUM(-20000000) AS DOUBLE) / 1000000 AS DOUBLE) AS points,
  COUNT(*) AS hits,
  MAX(h.event_date) AS last_event
FROM (
  SELECT
    r.subject_id AS subject_id,
    r.event_date AS event_date
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
) AS h
GROUP BY
  h.subject_id
UNION ALL
SELECT
  h.subject_id,
  'shop.on_time' AS rule_id,
  'money' AS dimension,
  CAST(CAST(SUM(1000000) AS DOUBLE) / 1000000 AS DOUBLE) AS points,
  COUNT(*) AS hits,
  MAX(h.event_date) AS last_event
FROM (
  SELECT
    r.subject_id AS subject_id,
    r.event_date AS event_date
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
) AS h
GROUP BY
  h.subject_id
