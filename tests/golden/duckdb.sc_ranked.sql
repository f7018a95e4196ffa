SELECT
  *,
  CAST(RANK() OVER (PARTITION BY kind ORDER BY score DESC) AS INT) AS rank,
  ROUND(100.0 * CUME_DIST() OVER (PARTITION BY kind ORDER BY score ASC), 2) AS percentile
FROM sc_local
