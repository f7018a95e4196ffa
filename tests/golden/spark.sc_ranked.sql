SELECT
  l.*,
  CAST(h.rank AS INT) AS rank,
  ROUND(100.0 * h.cume, 2) AS percentile
FROM sc_local AS l
JOIN (
  SELECT
    kind,
    score,
    SUM(n) OVER (
      PARTITION BY kind
      ORDER BY score DESC
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) - n + 1 AS rank,
    CAST(SUM(n) OVER (
      PARTITION BY kind
      ORDER BY score NULLS LAST
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS DOUBLE) / CAST(SUM(n) OVER (PARTITION BY kind) AS DOUBLE) AS cume
  FROM (
    SELECT
      kind,
      score,
      COUNT(*) AS n
    FROM sc_local
    GROUP BY
      kind,
      score
  ) AS c
) AS h
  ON h.kind = l.kind AND h.score = l.score
