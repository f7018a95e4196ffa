SELECT
  *,
  CASE WHEN score >= 120 THEN 'A' WHEN score >= 80 THEN 'B' WHEN score >= 0 THEN 'C' END AS tier,
  CASE WHEN score >= 120 THEN 3 WHEN score >= 80 THEN 2 WHEN score >= 0 THEN 1 END AS tier_rank
FROM (
  SELECT
    *,
    CAST((
      100000000.0 + CAST(CAST(FLOOR(LEAST(9000000000000.0, GREATEST(-9000000000000.0, l.d_money)) * 1000000 + 0.5) AS BIGINT) AS DOUBLE) + CAST(CAST(FLOOR(LEAST(9000000000000.0, GREATEST(-9000000000000.0, l.d_civic)) * 1000000 + 0.5) AS BIGINT) AS DOUBLE)
    ) / 1000000 AS DOUBLE) AS total,
    CAST(LEAST(
      200,
      GREATEST(
        0,
        FLOOR(
          (
            (
              100000000.0 + CAST(CAST(FLOOR(LEAST(9000000000000.0, GREATEST(-9000000000000.0, l.d_money)) * 1000000 + 0.5) AS BIGINT) AS DOUBLE) + CAST(CAST(FLOOR(LEAST(9000000000000.0, GREATEST(-9000000000000.0, l.d_civic)) * 1000000 + 0.5) AS BIGINT) AS DOUBLE)
            ) + 500000
          ) / 1000000
        )
      )
    ) AS INT) AS score,
    DATEDIFF(DAY, l.last_negative, CAST('2026-01-01' AS DATE)) AS last_negative_days
  FROM (
    SELECT
      s.subject_id,
      s.kind,
      s.profession,
      YEAR(CAST('2026-01-01' AS DATE)) - YEAR(s.birth_date) - CASE
        WHEN MONTH(CAST('2026-01-01' AS DATE)) * 100 + DAY(CAST('2026-01-01' AS DATE)) >= MONTH(s.birth_date) * 100 + DAY(s.birth_date)
        THEN 0
        ELSE 1
      END AS age,
      LEAST(50.0, GREATEST(-100.0, COALESCE(p.d_money, 0.0))) AS d_money,
      COALESCE(p.d_civic, 0.0) AS d_civic,
      p.last_negative AS last_negative
    FROM sc_subjects AS s
    LEFT JOIN (
      SELECT
        r.subject_id,
        CAST(SUM(
          IF(
            r.dimension = 'money',
            CAST(CAST(FLOOR(r.points * 1000000 + 0.5) AS BIGINT) AS DOUBLE),
            NULL
          )
        ) AS DOUBLE) / 1000000 AS d_money,
        CAST(SUM(
          IF(
            r.dimension = 'civic',
            CAST(CAST(FLOOR(r.points * 1000000 + 0.5) AS BIGINT) AS DOUBLE),
            NULL
          )
        ) AS DOUBLE) / 1000000 AS d_civic,
        MAX(IF(r.points < 0, r.last_event, NULL)) AS last_negative
      FROM sc_rule_points AS r
      GROUP BY
        r.subject_id
    ) AS p
      ON p.subject_id = s.subject_id
  ) AS l
) AS t
