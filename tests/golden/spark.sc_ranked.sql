SELECT
  l.*,
  h.rank,
  h.percentile
FROM sc_local AS l
JOIN (
  SELECT
    kind,
    score,
    n,
    CAST(rank AS INT) AS rank,
    CAST((
      20000 * cum + total
    ) DIV (
      2 * total
    ) AS DOUBLE) / 100 AS percentile
  FROM (
    SELECT
      kind,
      score,
      n,
      SUM(n) OVER (
        PARTITION BY kind
        ORDER BY score DESC
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) - n + 1 AS rank,
      CAST(SUM(n) OVER (
        PARTITION BY kind
        ORDER BY score NULLS LAST
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) AS BIGINT) AS cum,
      CAST(SUM(n) OVER (PARTITION BY kind) AS BIGINT) AS total
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
  ) AS w
) AS h
  ON h.kind = l.kind AND h.score = l.score
